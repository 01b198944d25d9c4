import { useEffect, useState } from 'react';
import { slipway } from './transport';

export function App() {
  const [info, setInfo] = useState<string>('');
  useEffect(() => {
    slipway['app.info']({}).then(
      (result) => setInfo(`Slipway ${result.version} · ${result.mode} mode · data in ${result.dataDir}`),
      (error: Error) => setInfo(`Cannot reach the engine: ${error.message}`),
    );
  }, []);
  return (
    <main style={{ font: '15px system-ui', margin: '3rem' }}>
      <h1>Slipway</h1>
      <p>Drop a project folder</p>
      <p role="status">{info}</p>
    </main>
  );
}
