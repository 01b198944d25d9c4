import { parseArgs } from 'node:util';
import { defaultTarget, targetFromSpecs } from '../../core/builders/targets';
import { probeRegions } from '../../core/regions/probe';
import { loadSettings } from '../../core/settings/settings-store';
import type { ProbeResult } from '../../shared/domain';
import { EXIT_BAD_INPUT, EXIT_OK } from '../exit-codes';
import { dataDirOption, numberOption } from '../options';
import type { Output } from '../output';

export const probeUsage = `slipway probe [--builder REGION=URL ...] [--samples N] [--json] [--data-dir DIR]

  Measures the latency of every builder region and says which one a build would choose, and why.
  --builder REGION=URL  a region's endpoint (repeatable); a bare URL is region "local"
                        (default: the settings' target, else the local engine)
  --samples N           round trips per region, 1 to 50 (default 5)
  --json                one JSON document: every probe, "chosen" and "reason"
  --data-dir DIR        where the settings live (default: $XDG_DATA_HOME/slipway)`;

/** The table `probe` prints: one line per region, then the choice. */
export function formatProbe(result: ProbeResult): string[] {
  const lines = result.probes.map((probe) => {
    const mark = probe.region === result.chosen ? '*' : ' ';
    if (probe.medianMs === null)
      return `${mark} ${probe.region.padEnd(12)} unreachable  ${probe.error?.code ?? ''} ${probe.error?.message ?? ''}`;
    const engine = probe.engine
      ? `  ${probe.engine.product} ${probe.engine.version} API ${probe.engine.apiVersion} ${probe.engine.os}/${probe.engine.arch}`
      : '';
    return `${mark} ${probe.region.padEnd(12)} median ${probe.medianMs} ms  spread ${probe.spreadMs} ms  handshake ${probe.handshakeMs ?? '?'} ms${engine}`;
  });
  lines.push(result.chosen ? `chosen: ${result.chosen} (${result.reason})` : `no region chosen: ${result.reason}`);
  return lines;
}

/** `slipway probe`: exits 0 when a region was chosen, 2 when none answered. */
export async function probeCommand(args: string[], output: Output): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      builder: { type: 'string', multiple: true },
      samples: { type: 'string' },
      json: { type: 'boolean', default: false },
      'data-dir': { type: 'string' },
    },
  });
  const samples = numberOption(values.samples, 'samples', 'samples');
  const settings = await loadSettings(dataDirOption(values));
  const target = values.builder?.length ? targetFromSpecs(values.builder) : defaultTarget(settings);
  const result = await probeRegions(target.endpoints, { samples, pinned: settings.pinnedRegion });
  if (values.json) output.out(JSON.stringify(result));
  else for (const line of formatProbe(result)) output.out(line);
  return result.chosen ? EXIT_OK : EXIT_BAD_INPUT;
}

/** The command as the CLI's table loads it. */
export const command = { run: probeCommand, usage: probeUsage };
