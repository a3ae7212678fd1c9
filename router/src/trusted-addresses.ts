import { BlockList, isIP } from 'node:net';

/** Named address ranges accepted beside IPs and CIDRs. */
const named: Record<string, Array<[string, number, 'ipv4' | 'ipv6']>> = {
  loopback: [
    ['127.0.0.0', 8, 'ipv4'],
    ['::1', 128, 'ipv6'],
  ],
  private: [
    ['10.0.0.0', 8, 'ipv4'],
    ['172.16.0.0', 12, 'ipv4'],
    ['192.168.0.0', 16, 'ipv4'],
    ['fc00::', 7, 'ipv6'],
  ],
};

/** An IPv4 address written as IPv6 (`::ffff:127.0.0.1`, as dual-stack sockets report it) as plain IPv4. */
function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/** Why an entry of an address list is not usable, or undefined when it is. */
export function addressEntryProblem(entry: string): string | undefined {
  if (named[entry]) return undefined;
  const [address, bits, ...rest] = entry.split('/');
  const family = isIP(address ?? '');
  if (!family || rest.length > 0)
    return `"${entry}" is not an IP address, a CIDR range or one of ${Object.keys(named).join(', ')}`;
  if (bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128)))
    return `"${entry}" has a prefix length out of range`;
  return undefined;
}

/**
 * A test for peer addresses against a list of IPs, CIDR ranges (`10.0.0.0/8`) and the names
 * `loopback` and `private`; decided on the address itself, never on a host name.
 * @example
 * const trusted = addressMatcher(['loopback', '10.1.0.0/16']);
 * trusted(req.socket.remoteAddress); // true for 127.0.0.1, ::1, ::ffff:127.0.0.1 and 10.1.2.3
 */
export function addressMatcher(entries: readonly string[]): (address: string | undefined) => boolean {
  const list = new BlockList();
  for (const entry of entries) {
    const problem = addressEntryProblem(entry);
    if (problem) throw new Error(problem);
    for (const [address, bits, type] of named[entry] ?? []) list.addSubnet(address, bits, type);
    if (named[entry]) continue;
    const [address, bits] = entry.split('/') as [string, string | undefined];
    const type = isIP(address) === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(bits), type);
  }
  return (address) => {
    if (!address) return false;
    const plain = plainAddress(address);
    const family = isIP(plain);
    return family !== 0 && list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  };
}
