"""IP network functions (``cidrsubnet``, ``cidrhost``, ``cidrnetmask``, ``cidrsubnets``)."""

from __future__ import annotations

import ipaddress

from relight.lang.funcbase import FuncContext, FunctionError
from relight.lang.functions._args import as_int, as_str, invalid
from relight.values import Value

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _network(prefix: Value) -> IPNetwork:
    text = as_str(prefix, "prefix")
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise FunctionError(f"invalid CIDR expression: invalid CIDR address: {text}") from None


def _subnet(network: IPNetwork, newbits: int, netnum: int) -> IPNetwork:
    new_length = network.prefixlen + newbits
    if newbits < 0 or new_length > network.max_prefixlen:
        raise FunctionError(f"insufficient address space to extend prefix of {network.prefixlen} by {newbits}")
    if netnum < 0 or netnum >= 1 << newbits:
        raise FunctionError(f"prefix extension of {newbits} does not accommodate a subnet numbered {netnum}")
    address = int(network.network_address) | (netnum << (network.max_prefixlen - new_length))
    return ipaddress.ip_network((address, new_length))


def fn_cidrsubnet(ctx: FuncContext, prefix: Value, newbits: Value, netnum: Value) -> Value:
    network = _network(prefix)
    return str(_subnet(network, as_int(newbits, "newbits"), as_int(netnum, "netnum")))


def fn_cidrhost(ctx: FuncContext, prefix: Value, hostnum: Value) -> Value:
    network = _network(prefix)
    number = as_int(hostnum, "hostnum")
    size = network.num_addresses
    offset = number + size if number < 0 else number
    if not 0 <= offset < size:
        shown = number if number >= 0 else offset
        raise FunctionError(f"prefix of {network.prefixlen} does not accommodate a host numbered {shown}")
    return str(network.network_address + offset)


def fn_cidrnetmask(ctx: FuncContext, prefix: Value) -> Value:
    network = _network(prefix)
    if network.version == 6:
        raise FunctionError(f"IPv6 addresses cannot have a netmask: {as_str(prefix, 'prefix')}")
    return str(network.netmask)


def fn_cidrsubnets(ctx: FuncContext, prefix: Value, *newbits: Value) -> Value:
    network = _network(prefix)
    out: list[str] = []
    next_address = int(network.network_address)
    end = int(network.broadcast_address)
    for bits in newbits:
        extend = as_int(bits, "newbits")
        if extend < 1 or network.prefixlen + extend > network.max_prefixlen:
            raise invalid(
                "newbits",
                f"would extend prefix to {network.prefixlen + extend} bits, which is too long "
                f"for an IPv{network.version} address",
            )
        length = network.prefixlen + extend
        block = 1 << (network.max_prefixlen - length)
        start = -(-next_address // block) * block
        if start + block - 1 > end:
            raise invalid(
                "newbits",
                f"not enough remaining address space for a subnet with a prefix "
                f"of {length} bits after {out[-1] if out else network}",
            )
        out.append(str(ipaddress.ip_network((start, length))))
        next_address = start + block
    return out
