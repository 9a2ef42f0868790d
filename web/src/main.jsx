import { render } from "preact";
import { createApi } from "./api.js";
import { App } from "./components/App.jsx";
import { createRefreshStore } from "./refresh-store.js";
import "./styles.css";

const refreshStore = createRefreshStore();
const api = createApi({ refreshStore });

render(<App api={api} refreshStore={refreshStore} />, document.getElementById("app"));
