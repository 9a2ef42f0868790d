import { fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { describe, expect, it } from "vitest";
import { ApiError } from "../src/api.js";
import { SignIn } from "../src/components/SignIn.jsx";
import { UploadQueue } from "../src/components/UploadQueue.jsx";

describe("SignIn", () => {
  it("shows the server's message and lets the person try again", async () => {
    const attempts = [];
    const api = {
      signIn: async (fields) => {
        attempts.push(fields);
        throw new ApiError(401, { message: "The email or password is wrong." });
      },
    };
    render(<SignIn api={api} onSignedIn={() => {}} />);
    fireEvent.input(screen.getByLabelText("Email or username"), { target: { value: " ada@example.com " } });
    fireEvent.input(screen.getByLabelText("Password"), { target: { value: "nope" } });
    screen.getByLabelText("Keep me signed in on this device").checked = false; // this tab only
    fireEvent.submit(screen.getByRole("button", { name: "Sign in" }).closest("form"));
    expect((await screen.findByRole("alert")).textContent).toBe("The email or password is wrong.");
    expect(attempts).toEqual([{ login: "ada@example.com", password: "nope", persistent: false }]);
    await waitFor(() => expect(screen.getByRole("button", { name: "Sign in" }).disabled).toBe(false));
  });

  it("says why the session ended", () => {
    render(<SignIn api={{}} onSignedIn={() => {}} notice="Your session has ended. Sign in again to continue." />);
    expect(screen.getByRole("status").textContent).toMatch(/session has ended/);
  });
});

describe("UploadQueue", () => {
  const queue = { canPause: () => false, clearFinished() {}, pause() {}, resume() {}, cancel() {}, retry() {} };

  it("shows a bar per file, the overall bar, and a refused file's message without a retry", () => {
    render(
      <UploadQueue
        queue={queue}
        items={[
          { id: 1, name: "clip.mp4", status: "uploading", loaded: 500, total: 1000 },
          { id: 2, name: "notes.png", status: "failed", message: "Content of type text/plain is not accepted.", retryable: false },
        ]}
      />,
    );
    expect(screen.getByRole("progressbar", { name: "Upload of clip.mp4" }).value).toBe(500);
    expect(screen.getByRole("progressbar", { name: "All uploads" })).toBeTruthy();
    expect(screen.getByText("Content of type text/plain is not accepted.")).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Retry notes.png" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Pause clip.mp4" })).toBeNull(); // multipart cannot pause
    expect(screen.getByRole("button", { name: "Cancel clip.mp4" })).toBeTruthy();
  });

  it("offers pause when uploads are resumable", () => {
    render(
      <UploadQueue
        queue={{ ...queue, canPause: () => true }}
        items={[{ id: 1, name: "clip.mp4", status: "uploading", loaded: 1, total: 10 }]}
      />,
    );
    expect(screen.getByRole("button", { name: "Pause clip.mp4" })).toBeTruthy();
  });
});
