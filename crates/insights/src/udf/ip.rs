//! The IP address string functions (`isValidIp`, `isIpInSubnet`, ...).

use std::net::IpAddr;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BooleanBuilder};
use datafusion::common::Result;

use super::strings::Strings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Family {
    Any,
    V4,
    V6,
}

fn parse(text: &str, family: Family) -> Option<IpAddr> {
    let ip: IpAddr = text.parse().ok()?;
    match (family, ip) {
        (Family::Any, _) | (Family::V4, IpAddr::V4(_)) | (Family::V6, IpAddr::V6(_)) => Some(ip),
        _ => None,
    }
}

/// Whether `ip` lies in the CIDR block `subnet` (`10.0.0.0/8`, `2001:db8::/32`); a bare
/// address is a block of one.
pub(crate) fn in_subnet(ip: &str, subnet: &str, family: Family) -> bool {
    let Some(ip) = parse(ip, family) else {
        return false;
    };
    let (network, prefix) = match subnet.split_once('/') {
        Some((network, prefix)) => (network, prefix.parse::<u32>().ok()),
        None => (subnet, None),
    };
    let Some(network) = parse(network, family) else {
        return false;
    };
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let bits = prefix.unwrap_or(32);
            if bits > 32 {
                return false;
            }
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let bits = prefix.unwrap_or(128);
            if bits > 128 {
                return false;
            }
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

pub(crate) fn is_valid(array: &ArrayRef, family: Family) -> Result<ArrayRef> {
    let strings = Strings::new(array)?;
    let mut out = BooleanBuilder::with_capacity(strings.len());
    for i in 0..strings.len() {
        out.append_value(strings.get(i).is_some_and(|s| parse(s, family).is_some()));
    }
    Ok(Arc::new(out.finish()))
}

pub(crate) fn subnet_column(
    ips: &ArrayRef,
    subnets: &ArrayRef,
    family: Family,
) -> Result<ArrayRef> {
    let ips = Strings::new(ips)?;
    let subnets = Strings::new(subnets)?;
    let mut out = BooleanBuilder::with_capacity(ips.len());
    for i in 0..ips.len() {
        let hit = match (ips.get(i), subnets.get(i)) {
            (Some(ip), Some(subnet)) => in_subnet(ip, subnet, family),
            _ => false,
        };
        out.append_value(hit);
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets() {
        assert!(in_subnet("192.168.1.7", "192.168.0.0/16", Family::Any));
        assert!(!in_subnet("192.169.1.7", "192.168.0.0/16", Family::Any));
        assert!(in_subnet("10.1.2.3", "0.0.0.0/0", Family::V4));
        assert!(!in_subnet("10.1.2.3", "10.0.0.0/8", Family::V6));
        assert!(in_subnet("2001:db8::1", "2001:db8::/32", Family::V6));
        assert!(!in_subnet("2001:db9::1", "2001:db8::/32", Family::Any));
        assert!(!in_subnet("10.0.0.1", "10.0.0.0/33", Family::Any));
    }
}
