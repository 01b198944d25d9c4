import { connect } from 'node:net';
import { type GrpcCall, GrpcError, GrpcStatus } from './grpc';
import { decodeBytesMessage, decodeStringField, encodeBytesMessage } from './messages';

/** An SSH agent `--ssh` names: an id (`default` when none is given) and the agent's socket. */
export interface AgentSource {
  id: string;
  socket: string;
}

/** The key of the metadata that names the agent a ForwardAgent call wants (moby/buildkit sshforward). */
const SSH_ID_KEY = 'buildkit.ssh.id';

function agentFor(id: string, agents: AgentSource[]): AgentSource {
  const agent = agents.find((candidate) => candidate.id === (id || 'default'));
  if (!agent) throw new GrpcError(GrpcStatus.notFound, `unset ssh forward key ${id || 'default'}`);
  return agent;
}

/** moby.sshforward.v1.SSH/CheckAgent: whether the session forwards an agent of that id. */
export async function checkAgent(call: GrpcCall, agents: AgentSource[]): Promise<void> {
  agentFor(decodeStringField(await call.single()), agents);
  await call.send(new Uint8Array(0));
  call.end();
}

/**
 * moby.sshforward.v1.SSH/ForwardAgent: the bytes of one connection to the agent's socket, both ways,
 * as BytesMessages, with backpressure on either side. Ends when either side ends.
 */
export async function forwardAgent(call: GrpcCall, agents: AgentSource[]): Promise<void> {
  const agent = agentFor(call.metadata.get(SSH_ID_KEY)?.[0] ?? '', agents);
  const socket = connect(agent.socket);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', (error: NodeJS.ErrnoException) =>
        reject(new GrpcError(GrpcStatus.unavailable, `cannot reach the SSH agent ${agent.id}: ${error.code}`)),
      );
    });
    const toAgent = (async () => {
      for await (const message of call.messages()) {
        if (!socket.write(decodeBytesMessage(message))) await new Promise((resolve) => socket.once('drain', resolve));
      }
      socket.end();
    })();
    const fromAgent = (async () => {
      for await (const chunk of socket) await call.send(encodeBytesMessage(chunk as Buffer));
    })();
    await Promise.race([fromAgent, toAgent.then(() => fromAgent)]);
    call.end();
  } finally {
    socket.destroy();
  }
}
