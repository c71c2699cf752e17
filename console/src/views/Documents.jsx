// Documents: the collections with their document counts (./api/mesh), a collection's documents
// (ListDocuments), one document as pretty-printed canonical JSON (GetDocument) that can be edited
// and saved (PutDocument; text that is not a JSON object is refused here, never sent), deleted
// after a confirmation (DeleteDocument), and a form to create a new one.
// Routes: #/documents, #/documents/<collection>, #/documents/<collection>/<doc id> (URI-encoded).
import { useEffect, useState } from "preact/hooks";
import { rpc, fetchMesh } from "../api.js";
import { usePoll } from "../hooks.js";
import { ConfirmButton, ErrorBox } from "../components.jsx";
import { jsonObjectError, prettyJson, safeDecode } from "../format.js";

export const docHref = (collection, docId) =>
  `#/documents/${encodeURIComponent(collection)}` + (docId !== undefined ? `/${encodeURIComponent(docId)}` : "");

function Collections({ current }) {
  const { data, error } = usePoll((signal) => fetchMesh(signal), 2000);
  const [name, setName] = useState("");
  const cols = data ? data.collections : [];
  return (
    <nav class="panel" aria-labelledby="cols-h">
      <h2 id="cols-h">Collections</h2>
      <ErrorBox error={error} what="Mesh summary" />
      {data && cols.length === 0 && <p class="muted">No collections yet.</p>}
      <ul class="list" data-testid="collections">
        {cols.map((c) => (
          <li key={c.name}>
            <a href={docHref(c.name)} aria-current={c.name === current ? "page" : undefined}>
              <span class="name">{c.name}</span> <span class="count">{c.documents}</span>
            </a>
          </li>
        ))}
      </ul>
      <form
        class="stack"
        onSubmit={(e) => {
          e.preventDefault();
          if (name.trim()) location.hash = docHref(name.trim());
        }}
      >
        <label>
          Open collection
          <input name="collection" value={name} onInput={(e) => setName(e.currentTarget.value)} autoComplete="off" />
        </label>
        <button type="submit">Open</button>
      </form>
    </nav>
  );
}

function DocList({ collection, current, version }) {
  const { data, error } = usePoll(() => rpc.listDocuments({ collection }), 2000, [collection, version]);
  const ids = data ? [...data.docIds].sort() : [];
  return (
    <div class="panel" aria-labelledby="docs-h">
      <h2 id="docs-h">
        <span class="sr-only">Documents in </span>
        {collection}
      </h2>
      <p>
        <a class="button" href={docHref(collection) + "/+new"}>
          New document
        </a>
      </p>
      <ErrorBox error={error} what="ListDocuments" />
      {data && <p class="muted small">{ids.length === 1 ? "1 document" : `${ids.length} documents`}</p>}
      <ul class="list" data-testid="doc-list">
        {ids.map((id) => (
          <li key={id}>
            <a href={docHref(collection, id)} aria-current={id === current ? "page" : undefined}>
              {id}
            </a>
          </li>
        ))}
      </ul>
    </div>
  );
}

function NewDoc({ collection, onChanged }) {
  const [docId, setDocId] = useState("");
  const [text, setText] = useState("{\n  \n}");
  const [error, setError] = useState(null);
  const [invalid, setInvalid] = useState("");
  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    const bad = jsonObjectError(text);
    setInvalid(bad || "");
    if (bad) return;
    try {
      await rpc.putDocument({ collection, docId: docId.trim(), jsonData: text.trim() });
      onChanged();
      location.hash = docHref(collection, docId.trim());
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form class="panel editor" onSubmit={submit} aria-labelledby="new-h">
      <h2 id="new-h">New document in {collection}</h2>
      <label>
        Document id
        <input name="docId" value={docId} onInput={(e) => setDocId(e.currentTarget.value)} required autoComplete="off" />
      </label>
      <label>
        JSON
        <textarea name="json" rows={12} value={text} onInput={(e) => setText(e.currentTarget.value)} spellcheck={false} />
      </label>
      {invalid && (
        <p class="error" role="alert">
          {invalid} Not sent.
        </p>
      )}
      <ErrorBox error={error} what="PutDocument" />
      <div class="actions">
        <button type="submit">Create</button>
      </div>
    </form>
  );
}

function DocEditor({ collection, docId, onChanged }) {
  const [loaded, setLoaded] = useState(null); // {text} | {missing: true}
  const [text, setText] = useState("");
  const [error, setError] = useState(null);
  const [invalid, setInvalid] = useState("");
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState(false);

  const load = async () => {
    setError(null);
    try {
      const r = await rpc.getDocument({ collection, docId });
      if (r.jsonData === undefined) {
        setLoaded({ missing: true });
      } else {
        const pretty = prettyJson(r.jsonData);
        setLoaded({ text: pretty });
        setText(pretty);
      }
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => {
    setLoaded(null);
    setNote("");
    setInvalid("");
    load();
  }, [collection, docId]);

  const save = async (e) => {
    e.preventDefault();
    setNote("");
    setError(null);
    const bad = jsonObjectError(text);
    setInvalid(bad || "");
    if (bad) return;
    setBusy(true);
    try {
      await rpc.putDocument({ collection, docId, jsonData: text.trim() });
      await load();
      setNote("Saved.");
      onChanged();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const remove = async () => {
    setError(null);
    try {
      await rpc.deleteDocument({ collection, docId });
      onChanged();
      location.hash = docHref(collection);
    } catch (err) {
      setError(err);
    }
  };

  return (
    <form class="panel editor" onSubmit={save} aria-labelledby="doc-h">
      <h2 id="doc-h">
        <span class="muted">{collection} / </span>
        {docId}
      </h2>
      <ErrorBox error={error} what="Document" />
      {!loaded && !error && <p class="muted">Loading…</p>}
      {loaded && loaded.missing && <p>This document does not exist (or was deleted).</p>}
      {loaded && !loaded.missing && (
        <>
          <label>
            Document JSON
            <textarea
              name="json"
              rows={18}
              value={text}
              onInput={(e) => {
                setText(e.currentTarget.value);
                setNote("");
              }}
              spellcheck={false}
            />
          </label>
          {invalid && (
            <p class="error" role="alert">
              {invalid} Not saved.
            </p>
          )}
          {note && <p role="status">{note}</p>}
          <div class="actions">
            <button type="submit" disabled={busy || text === loaded.text}>
              Save
            </button>
            <button
              type="button"
              disabled={text === loaded.text}
              onClick={() => {
                setText(loaded.text);
                setInvalid("");
              }}
            >
              Revert
            </button>
            <button type="button" onClick={load}>
              Reload
            </button>
            <ConfirmButton label="Delete…" confirmLabel="Delete" question={`Delete ${docId}?`} onConfirm={remove} />
          </div>
        </>
      )}
    </form>
  );
}

// params are the raw (still URI-encoded) route segments: "+new" cannot be an encoded doc id.
export function Documents({ params }) {
  const collection = params[0] === undefined ? undefined : safeDecode(params[0]);
  const isNew = params[1] === "+new";
  const docId = isNew || params[1] === undefined ? undefined : safeDecode(params.slice(1).join("/"));
  const [version, setVersion] = useState(0);
  const changed = () => setVersion((v) => v + 1);
  return (
    <section aria-labelledby="documents-h">
      <h1 id="documents-h">Documents</h1>
      <div class={`columns ${collection ? "three" : "one"}`}>
        <Collections current={collection} />
        {collection && <DocList collection={collection} current={docId} version={version} />}
        {collection && isNew && <NewDoc collection={collection} onChanged={changed} />}
        {collection && docId !== undefined && <DocEditor collection={collection} docId={docId} onChanged={changed} />}
        {collection && !isNew && docId === undefined && (
          <p class="panel muted">Choose a document, or create a new one.</p>
        )}
      </div>
    </section>
  );
}
