// The console's shell: a nav bar and hash routing (#/status, #/peers, #/documents/…, #/feed,
// #/attachments; the node serves only /console/ and its files, so routes live in the fragment).
// Uncaught errors and rejections are shown in the page instead of escaping to the browser.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { Status } from "./views/Status.jsx";
import { Peers } from "./views/Peers.jsx";
import { Documents } from "./views/Documents.jsx";
import { Feed } from "./views/Feed.jsx";
import { Attachments } from "./views/Attachments.jsx";
import { ErrorBox } from "./components.jsx";
import { loadClient } from "./api.js";

const VIEWS = [
  { path: "status", title: "Status", View: Status },
  { path: "peers", title: "Peers", View: Peers },
  { path: "documents", title: "Documents", View: Documents },
  { path: "feed", title: "Live feed", View: Feed },
  { path: "attachments", title: "Attachments", View: Attachments },
];

function parseHash() {
  const parts = location.hash.replace(/^#\/?/, "").split("/");
  while (parts.length > 1 && parts[parts.length - 1] === "") parts.pop();
  const view = VIEWS.find((v) => v.path === parts[0]) || VIEWS[0];
  return { view, params: view.path === parts[0] ? parts.slice(1) : [] };
}

function App() {
  const [route, setRoute] = useState(parseHash);
  const [crash, setCrash] = useState(null);
  useEffect(() => {
    const onHash = () => setRoute(parseHash());
    const onError = (e) => {
      e.preventDefault();
      setCrash(e.error || new Error(e.message));
    };
    const onRejection = (e) => {
      e.preventDefault();
      setCrash(e.reason);
    };
    addEventListener("hashchange", onHash);
    addEventListener("error", onError);
    addEventListener("unhandledrejection", onRejection);
    return () => {
      removeEventListener("hashchange", onHash);
      removeEventListener("error", onError);
      removeEventListener("unhandledrejection", onRejection);
    };
  }, []);
  useEffect(() => {
    document.title = `${route.view.title} · peat console`;
  }, [route.view]);
  // The typed client's chunk, once the first view is up: off the first render's path, ready
  // before the operator moves to another view.
  useEffect(() => {
    const load = () => loadClient().catch(() => {});  // a failure shows where it is used
    const idle = window.requestIdleCallback;
    const id = idle ? idle(load, { timeout: 1000 }) : setTimeout(load, 200);
    return () => (idle ? window.cancelIdleCallback(id) : clearTimeout(id));
  }, []);
  const { View } = route.view;
  return (
    <>
      <header class="top">
        <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById("main").focus())}>
          Skip to content
        </a>
        <span class="brand">peat console</span>
        <nav aria-label="Views">
          <ul>
            {VIEWS.map((v) => (
              <li key={v.path}>
                <a href={`#/${v.path}`} aria-current={v === route.view ? "page" : undefined}>
                  {v.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        <ErrorBox error={crash} what="The page" />
        <View key={route.view.path} params={route.params} />
      </main>
    </>
  );
}

render(<App />, document.getElementById("app"));
