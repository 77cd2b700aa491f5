// The signed-in user (GET /api/v1/me) for the components below the shell.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { can } from './lib/perms.js';

export const SessionContext = createContext({ me: null, reloadMe: async () => {} });

/* { me, can(perm), reloadMe() } */
export function useSession() {
    const ctx = useContext(SessionContext);
    return { ...ctx, can: (perm) => can(ctx.me, perm) };
}
