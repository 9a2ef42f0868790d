"""A page object for the web app: what a person does (sign in, drop files, open an item), said
once, so the tests read as the flows they check. Also watches every page for script errors,
CSP violations and requests to any host but the gateway."""

from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

AXE_BLOCKING = ("serious", "critical")

DROP_FILES = """([selector, files]) => {
  const transfer = new DataTransfer();
  for (const file of files) {
    const bytes = Uint8Array.from(atob(file.base64), (c) => c.charCodeAt(0));
    transfer.items.add(new File([bytes], file.name, { type: file.mimeType }));
  }
  const target = document.querySelector(selector);
  for (const type of ["dragenter", "dragover", "drop"]) {
    const init = { bubbles: true, cancelable: true, dataTransfer: transfer };
    target.dispatchEvent(new DragEvent(type, init));
  }
}"""


class WebApp:
    def __init__(self, page: Page, gateway: str, screenshots: Path):
        self.page = page
        self.gateway = gateway
        self.screenshots = screenshots
        self.problems: list[str] = []
        self.requests: list[str] = []
        self._cdp = None  # a DevTools session, once the network is shaped
        origin = urlsplit(gateway)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("console", self._console)
        page.on("request", lambda request: self._request(request.url, origin))

    def _console(self, message) -> None:
        text = message.text
        if message.type == "error" and (
            "Content Security Policy" in text or "Trusted Type" in text
        ):
            self.problems.append(f"CSP: {text}")

    def _request(self, url: str, origin) -> None:
        self.requests.append(url)
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob"):
            return
        if (parts.scheme, parts.netloc) != (origin.scheme, origin.netloc):
            self.problems.append(f"request to another host: {url}")

    def assert_no_page_errors(self) -> None:
        assert not self.problems, "\n".join(self.problems)

    # --- moving around
    def open(self, path: str = "/") -> None:
        self.page.goto(path)

    def nav(self, label: str) -> None:
        self.page.get_by_role("navigation", name="Main").get_by_role("link", name=label).click()

    def heading(self, text: str):
        return self.page.get_by_role("heading", name=text, exact=True)

    # --- accounts
    def register(self, person: dict) -> None:
        self.open("/register")
        for field, label in [
            ("first_name", "First name"),
            ("last_name", "Last name"),
            ("email", "Email"),
            ("password", "Password"),
        ]:
            self.page.get_by_label(label, exact=True).fill(person[field])
        self.page.get_by_role("button", name="Create account").click()
        expect(self.heading("Library")).to_be_visible()

    def sign_in(self, email: str, password: str, *, keep: bool = True) -> None:
        expect(self.heading("Sign in")).to_be_visible()
        self.page.get_by_label("Email or username").fill(email)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_label("Keep me signed in on this device").set_checked(keep)
        self.page.get_by_role("button", name="Sign in").click()
        expect(self.heading("Library")).to_be_visible()

    def sign_out(self) -> None:
        self.nav("Account")
        self.page.get_by_role("button", name="Sign out").click()
        expect(self.heading("Sign in")).to_be_visible()

    # --- uploads and the grid
    def drop_files(self, payloads: list[dict]) -> None:
        self.page.evaluate(DROP_FILES, ["#main", payloads])

    def upload_row(self, name: str):
        return self.page.get_by_role("region", name="Uploads").locator("li", has_text=name)

    def tile(self, name: str):
        return self.page.get_by_role("button", name=f"Open {name}", exact=True)

    def select(self, name: str) -> None:
        self.page.get_by_role("checkbox", name=f"Select {name}", exact=True).check()

    def refresh_token(self) -> str | None:
        return self.page.evaluate("() => localStorage.getItem('media-handler.refresh')")

    # --- network conditions (Chrome DevTools Protocol), to watch a progress bar move
    def throttle_uploads(self, bytes_per_second: int | None, *, offline: bool = False) -> None:
        """Uploads at `bytes_per_second` (None: unthrottled), or no network at all (`offline`:
        the cable pulled, requests in flight fail)."""
        if self._cdp is None:
            self._cdp = self.page.context.new_cdp_session(self.page)
            self._cdp.send("Network.enable")
        self._cdp.send(
            "Network.emulateNetworkConditions",
            {
                "offline": offline,
                "latency": 0,
                "downloadThroughput": -1,
                "uploadThroughput": bytes_per_second or -1,
            },
        )

    # --- checks and pictures
    def check_accessibility(self, screen: str) -> None:
        result = self.page.evaluate(
            "async () => { const r = await axe.run(document, { resultTypes: ['violations'] });"
            " return r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,"
            " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')) })); }"
        )
        blocking = [v for v in result if v["impact"] in AXE_BLOCKING]
        assert not blocking, f"axe on the {screen} screen: {blocking}"

    def screenshot(self, name: str) -> None:
        self.screenshots.mkdir(parents=True, exist_ok=True)
        self.page.wait_for_timeout(300)  # let fades and the last thumbnails settle
        self.page.screenshot(path=str(self.screenshots / f"{name}.png"))
