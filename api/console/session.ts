// Who is signed in, and what they may do: read by every page to enable or explain its actions.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';

export interface SessionUser {
  id: string;
  name: string;
  email: string | null;
  roles: string[];
  poApprovalLimitMinor: number | null;
  refundApprovalLimitMinor: number | null;
}

export interface Session {
  user: SessionUser;
  temporalUiUrl: string;
  temporalNamespace: string;
  signOut: () => Promise<void>;
  /** Shows a message at the top of the page (a decision taken, or refused and why). */
  notify: (text: string, tone?: 'ok' | 'error') => void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('no session');
  return session;
}

/** Whether the user holds one of the roles; with why not, for a disabled action. */
export function allowed(user: SessionUser, roles: readonly string[]): { ok: boolean; why?: string } {
  return roles.some((r) => user.roles.includes(r)) ? { ok: true } : { ok: false, why: `needs the ${roles.join(' or ')} role; you have ${user.roles.join(', ')}` };
}

export const historyUrl = (session: Pick<Session, 'temporalUiUrl' | 'temporalNamespace'>, workflowId: string) =>
  `${session.temporalUiUrl}/namespaces/${encodeURIComponent(session.temporalNamespace)}/workflows/${encodeURIComponent(workflowId)}`;
