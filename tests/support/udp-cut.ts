// Cuts UDP to and from some local ports for real, with iptables (Debian package iptables; the
// tests run as root): what a media path looks like when the operator's network goes. Loopback
// packets cross INPUT, so one rule per direction there drops them both ways. Every rule carries
// a comment naming this process, and lift() (or the process's exit) removes exactly those.
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

const IPTABLES = '/usr/sbin/iptables';

/** A clear error naming the Debian package when iptables is missing (or we may not use it). */
export function assertIptables(): void {
  try {
    accessSync(IPTABLES, constants.X_OK);
  } catch {
    throw new Error(`${IPTABLES} is missing (Debian package: iptables); the fault tests cut media with it`);
  }
  execFileSync(IPTABLES, ['-w', '-L', 'INPUT', '-n'], { stdio: 'pipe' }); // throws (named) without CAP_NET_ADMIN
}

export class UdpCut {
  private readonly tag = `koe-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  private rules: string[][] = [];
  private readonly onExit = () => this.lift();
  private hooked = false;

  /**
   * Drops every UDP datagram to or from `ports` (on this host) until lift(); may be called again
   * to add ports. `probability` (0..1): drops that share of them at random instead (iptables
   * statistic match): packet loss rather than a cut.
   */
  apply(ports: number[], opts: { probability?: number } = {}): void {
    const p = opts.probability;
    if (p !== undefined && !(p > 0 && p < 1)) throw new Error(`UdpCut: probability must be within (0, 1), not ${p}`);
    const loss = p !== undefined ? ['-m', 'statistic', '--mode', 'random', '--probability', p.toFixed(4)] : [];
    for (const port of new Set(ports)) {
      for (const dir of ['--dport', '--sport']) {
        const rule = ['INPUT', '-p', 'udp', dir, String(port), ...loss, '-m', 'comment', '--comment', this.tag, '-j', 'DROP'];
        execFileSync(IPTABLES, ['-w', '-I', ...rule], { stdio: 'pipe' });
        this.rules.push(rule);
      }
    }
    if (!this.hooked) process.once('exit', this.onExit);
    this.hooked = true;
  }

  lift(): void {
    for (const rule of this.rules) execFileSync(IPTABLES, ['-w', '-D', ...rule], { stdio: 'pipe' });
    this.rules = [];
    process.removeListener('exit', this.onExit);
    this.hooked = false;
  }
}
