/**
 * The sandbox agents' commands run in (`sandbox.status`), shared by Settings → Sandbox and the
 * warning bar that stays at the top while the person has turned it off.
 */
import { create } from 'zustand';
import { client, errorText } from './api';
import type { SandboxStatus } from './protocol/generated';

export const OFF_WARNING =
  'Turn the sandbox off? Commands that agents run (checks, tools) will then have your full rights: they can read your home folder, change files outside the project and use the network.';

export const useSandbox = create<{ status: SandboxStatus | null; failure: string | null; busy: boolean }>(() => ({
  status: null,
  failure: null,
  busy: false,
}));

export async function loadSandbox(): Promise<void> {
  try {
    useSandbox.setState({ status: await client.call<SandboxStatus>('sandbox.status'), failure: null });
  } catch (e) {
    // Nothing known any more: Settings says it cannot show the sandbox, the bar stays away.
    useSandbox.setState({ status: null, failure: errorText(e) });
  }
}

/** Sets one `sandbox.*` setting (`null` clears it) and reloads the status. */
export async function setSandbox(key: string, value: string | null): Promise<void> {
  useSandbox.setState({ busy: true });
  try {
    await client.call('settings.set', { key, value });
    useSandbox.setState({ status: await client.call<SandboxStatus>('sandbox.status'), failure: null });
  } catch (e) {
    useSandbox.setState({ failure: errorText(e) });
  } finally {
    useSandbox.setState({ busy: false });
  }
}
