/**
 * The files that let a pilot run its daemon under systemd within Beam's timing bounds, rendered in
 * one place for the release (with @PLACEHOLDERS@ its install script fills in), `beam-pilot init
 * --systemd`, and `beam-pilot doctor`, which checks what is installed against them.
 */

/** The systemctl verbs the pilot runs on the daemon's unit (pilot/supervisor.ts): the polkit rule allows exactly these. */
export const SYSTEMCTL_VERBS = ['start', 'stop', 'restart', 'kill'] as const;

export const SYSTEMD_DIR = '/etc/systemd/system';
/** polkit ≥ 0.106 (JavaScript rules: Debian 12+, Ubuntu 24.04+, RHEL/Amazon Linux). */
export const POLKIT_RULES_FILE = '/etc/polkit-1/rules.d/50-beam-pilot.rules';
/** polkit 0.105 (.pkla: Ubuntu 22.04, Debian 11). */
export const POLKIT_PKLA_FILE = '/etc/polkit-1/localauthority/50-local.d/50-beam-pilot.pkla';

/** The drop-in that bounds the daemon's stop, in `<unit>.d/`. */
export function daemonDropInFile(unit: string, dir = SYSTEMD_DIR): string {
  return `${dir}/${unit}.d/50-beam-stop-timeout.conf`;
}

/**
 * `systemctl stop` waits the unit's TimeoutStopSec (90 s by default) before systemd's SIGKILL: a
 * fencing pilot would wait that long. The drop-in makes it the pilot's `daemon.stop_timeout_ms`.
 */
export function daemonDropIn(stopTimeoutMs: number | string): string {
  return `# Written by beam-pilot (install.sh or beam-pilot init --systemd): the daemon stops within the
# pilot's daemon.stop_timeout_ms, then systemd kills it (SIGKILL), so a fencing pilot never waits
# longer (docs/failover.md, File mode). Keep it equal to or below daemon.stop_timeout_ms.
[Service]
TimeoutStopSec=${stopTimeoutMs}ms
SendSIGKILL=yes
`;
}

const js = (value: string) => JSON.stringify(value);

/** polkit ≥ 0.106: the pilot's user may start, stop, restart and kill the daemon's unit, and nothing else. */
export function polkitRules(user: string, unit: string): string {
  return `// Written by beam-pilot: ${user} (the pilot) may ${SYSTEMCTL_VERBS.join(', ')} ${unit}, and nothing else.
polkit.addRule(function (action, subject) {
  if (action.id === "org.freedesktop.systemd1.manage-units" &&
      subject.user === ${js(user)} &&
      action.lookup("unit") === ${js(unit)} &&
      ${JSON.stringify(SYSTEMCTL_VERBS)}.indexOf(action.lookup("verb")) >= 0) {
    return polkit.Result.YES;
  }
});
`;
}

/**
 * polkit 0.105 reads only .pkla files, which cannot name a unit or a verb: the pilot's user may
 * manage every unit. The price of Ubuntu 22.04's polkit; doctor says so.
 */
export function polkitPkla(user: string): string {
  return `# Written by beam-pilot for polkit 0.105 (.pkla cannot name a unit or a verb: ${user} may manage
# every systemd unit; with polkit >= 0.106 the .rules file limits it to the daemon's unit).
[beam-pilot: manage the daemon unit]
Identity=unix-user:${user}
Action=org.freedesktop.systemd1.manage-units
ResultAny=yes
ResultInactive=yes
ResultActive=yes
`;
}

/** A systemd time span (`systemctl show -p TimeoutStopUSec --value`: "1min 30s", "10s", "infinity") in ms. */
export function parseTimespanMs(text: string): number | null {
  const value = text.trim();
  if (value === 'infinity') return Number.POSITIVE_INFINITY;
  const units: Record<string, number> = {
    us: 0.001,
    ms: 1,
    s: 1000,
    min: 60_000,
    h: 3_600_000,
    d: 86_400_000,
  };
  let total = 0;
  const parts = value.split(/\s+/);
  for (const part of parts) {
    const match = /^(\d+(?:\.\d+)?)(us|ms|s|min|h|d)?$/.exec(part);
    if (!match) return null;
    total += Number(match[1]) * (units[match[2] ?? 's'] as number);
  }
  return parts.length > 0 && value !== '' ? total : null;
}

/**
 * What a polkit file fails to grant `user` for `unit`, or null. A .rules file must be Beam's rule
 * for this user, unit and every verb; a .pkla grants manage-units to the user (for every unit).
 */
export function polkitProblem(file: string, text: string, user: string, unit: string): string | null {
  if (file.endsWith('.pkla')) {
    const granted =
      new RegExp(`^Identity=.*unix-user:${user}(;|$)`, 'm').test(text) &&
      /^Action=.*org\.freedesktop\.systemd1\.manage-units/m.test(text) &&
      /^ResultAny=yes$/m.test(text);
    return granted ? null : `${file} does not grant org.freedesktop.systemd1.manage-units to ${user}`;
  }
  const missing = [
    text.includes('org.freedesktop.systemd1.manage-units') ? null : 'the manage-units action',
    text.includes(`subject.user === ${js(user)}`) ? null : `user ${user}`,
    text.includes(`action.lookup("unit") === ${js(unit)}`) ? null : `unit ${unit}`,
    ...SYSTEMCTL_VERBS.map((verb) => (text.includes(js(verb)) ? null : `verb ${verb}`)),
  ].filter((m): m is string => m !== null);
  return missing.length === 0 ? null : `${file} does not name ${missing.join(', ')}`;
}
