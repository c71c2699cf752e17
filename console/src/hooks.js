// usePoll: runs an async loader now and every intervalMs while the view is mounted (never two at
// once), keeping the last good data next to the last error so a view shows both.
import { useCallback, useLayoutEffect, useRef, useState } from "preact/hooks";

export function usePoll(load, intervalMs, deps = []) {
  const [state, setState] = useState({ data: null, error: null, at: 0 });
  const loadRef = useRef(load);
  loadRef.current = load;
  const tick = useRef(null);

  // A layout effect: the first request leaves before the first paint, not a frame after it.
  useLayoutEffect(() => {
    let alive = true;
    let timer = null;
    let running = false;
    const ctl = new AbortController();
    const run = async () => {
      if (running || !alive) return;
      running = true;
      clearTimeout(timer);
      try {
        const data = await loadRef.current(ctl.signal);
        if (alive) setState({ data, error: null, at: Date.now() });
      } catch (e) {
        if (alive && e.name !== "AbortError") setState((s) => ({ ...s, error: e, at: Date.now() }));
      } finally {
        running = false;
        if (alive && intervalMs > 0) timer = setTimeout(run, intervalMs);
      }
    };
    tick.current = run;
    run();
    return () => {
      alive = false;
      clearTimeout(timer);
      ctl.abort();
    };
  }, deps);

  const refresh = useCallback(() => tick.current && tick.current(), []);
  return { ...state, refresh };
}

/** useAction(fn, after): [run, error]; run(...args) awaits fn, then after(); a failure lands in error. */
export function useAction(fn, after) {
  const [error, setError] = useState(null);
  const run = async (...args) => {
    setError(null);
    try {
      await fn(...args);
      if (after) after();
    } catch (e) {
      setError(e);
    }
  };
  return [run, error];
}
