import { useEffect, useState } from 'react';
import { notify } from '../store/store';
import { slipway } from '../transport';
import './token-field.css';

interface TokenFieldProps {
  /** The target's name, which the token is kept under. */
  target: string;
}

/**
 * A write-only API token: the window sends a token to the engine's store and learns only whether one is
 * stored. It never reads a token back, so none can leak into the page.
 */
export function TokenField({ target }: TokenFieldProps) {
  const [stored, setStored] = useState<boolean | null>(null);
  const [typed, setTyped] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let alive = true;
    setStored(null);
    if (!target) return;
    slipway['targets.setToken']({ target }).then(
      (result) => alive && setStored(result.stored),
      () => alive && setStored(null),
    );
    return () => {
      alive = false;
    };
  }, [target]);

  const send = async (token: string | null) => {
    setBusy(true);
    try {
      const result = await slipway['targets.setToken']({ target, token });
      setStored(result.stored);
      setTyped('');
      notify(token === null ? `The token of ${target} is forgotten.` : `The token of ${target} is stored.`, 'info');
    } catch (error) {
      notify(`Cannot store the token of ${target}: ${(error as Error).message}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="token-field">
      <span>API token</span>
      <input
        type="password"
        aria-label="API token"
        autoComplete="off"
        spellCheck={false}
        placeholder={stored ? 'Paste a new token to replace it' : 'Paste a balena API token'}
        value={typed}
        onChange={(event) => setTyped(event.target.value)}
      />
      <button type="button" disabled={busy || !target || typed.trim() === ''} onClick={() => void send(typed.trim())}>
        Store token
      </button>
      <button type="button" disabled={busy || !stored} onClick={() => void send(null)}>
        Forget
      </button>
      <span className={`token-status${stored ? ' stored' : ''}`} data-testid="token-status">
        {stored === null ? '…' : stored ? 'stored' : 'not stored'}
      </span>
    </div>
  );
}
