import { type ReplicaId, replicaId, Text } from '@concord/crdt';
import type { TextReplica } from './traces.js';

/** Concord's Text for the trace replays: a Text and the replica currently editing it. */
export interface ConcordDoc {
  readonly text: Text;
  agent: ReplicaId;
}

const agentId = (agent: number) => replicaId(`agent-${agent}`);

export const concordText: TextReplica<ConcordDoc> = {
  create: (agent) => ({ text: Text.empty(), agent: agentId(agent) }),
  insert: (doc, pos, s) => void doc.text.insert(doc.agent, pos, s),
  delete: (doc, pos, len) => void doc.text.delete(doc.agent, pos, len),
  fork: (doc, agent) => ({ text: doc.text.clone(), agent: agentId(agent) }),
  continueAs: (doc, agent) => {
    doc.agent = agentId(agent);
    return doc;
  },
  merge: (into, from) => void into.text.join(from.text.deltaSince(into.text.version())),
  text: (doc) => doc.text.value(),
};
