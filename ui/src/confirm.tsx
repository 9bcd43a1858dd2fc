import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from 'react';

export interface ConfirmRequest {
  title: string;
  /** What will happen, in words: the dialog's body. */
  effect: ReactNode;
  confirmLabel: string;
}

type Confirm = (request: ConfirmRequest) => Promise<boolean>;

const ConfirmContext = createContext<Confirm>(async () => false);

/**
 * Dangerous actions ask first, in a modal `<dialog>`: it traps focus, Escape cancels, focus starts on
 * Cancel (the safe choice) and returns to the button that asked.
 */
export function ConfirmProvider({ children }: { children: ReactNode }) {
  const [pending, setPending] = useState<(ConfirmRequest & { resolve: (ok: boolean) => void }) | null>(null);
  const dialog = useRef<HTMLDialogElement>(null);
  const cancel = useRef<HTMLButtonElement>(null);
  const opener = useRef<Element | null>(null);

  const confirm = useCallback<Confirm>((request) => new Promise((resolve) => {
    opener.current = document.activeElement;
    setPending({ ...request, resolve });
  }), []);

  useEffect(() => {
    if (!pending || !dialog.current) return;
    if (!dialog.current.open) dialog.current.showModal();
    cancel.current?.focus();
  }, [pending]);

  const close = (ok: boolean) => {
    pending?.resolve(ok);
    setPending(null);
    dialog.current?.close();
    (opener.current as HTMLElement | null)?.focus?.();
  };

  return (
    <ConfirmContext.Provider value={confirm}>
      {children}
      <dialog ref={dialog} className="confirm" aria-labelledby="confirm-title" aria-describedby="confirm-effect"
        onCancel={(e) => { e.preventDefault(); close(false); }}>
        {pending && (
          <form method="dialog" onSubmit={(e) => { e.preventDefault(); close(true); }}>
            <h2 id="confirm-title">{pending.title}</h2>
            <div id="confirm-effect">{pending.effect}</div>
            <div className="actions">
              <button ref={cancel} type="button" onClick={() => close(false)}>Cancel</button>
              <button type="submit" className="danger">{pending.confirmLabel}</button>
            </div>
          </form>
        )}
      </dialog>
    </ConfirmContext.Provider>
  );
}

export function useConfirm(): Confirm {
  return useContext(ConfirmContext);
}
