import { useEffect, useState } from 'react';
import type { RequestResult } from '../../../shared/contract';
import { slipway } from '../transport';
import './registry-list.css';

type Registries = RequestResult<'registries.list'>;

/**
 * The registries a build can pull private images from: the hosts that have credentials in the docker
 * CLI's config. Read-only, and hosts only: the engine never sends a secret to the window.
 */
export function RegistryList() {
  const [answer, setAnswer] = useState<Registries | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  useEffect(() => {
    let alive = true;
    slipway['registries.list']({}).then(
      (result) => alive && setAnswer(result),
      (error: Error) => alive && setFailure(error.message),
    );
    return () => {
      alive = false;
    };
  }, []);

  if (failure) return <p className="muted">Cannot list the registries: {failure}</p>;
  if (!answer) return <p className="muted">Reading the docker config…</p>;
  return (
    <div className="registry-list" data-testid="registry-list">
      <p className="muted">
        From <code>{answer.configPath}</code> (docker login writes it); sent to the builder for the images a build
        pulls.
      </p>
      {answer.error ? (
        <p className="registry-list-error" role="alert">
          <code>{answer.error.code}</code> {answer.error.message}
        </p>
      ) : answer.registries.length === 0 ? (
        <p className="muted">No registry has credentials: builds pull public images only.</p>
      ) : (
        <ul aria-label="Registries with credentials">
          {answer.registries.map((host) => (
            <li key={host} className="mono">
              {host}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
