//! Addresses: unique IPs and MACs, addresses inside their subnet, gateways in it.

use std::collections::HashMap;

use super::{Ctx, ct, elsewhere};
use crate::net::{Ipv4, Ipv4Cidr};
use crate::schema::ConfigFile::{self, Hypervisor, Lxc, Vm};

/// An interface address: its file, pointer, value and gateway (pointer, value).
type Interface<'a> = (ConfigFile, String, &'a Ipv4Cidr, Option<(String, &'a Ipv4)>);

/// Every interface address of the fleet, with where it is set.
fn interfaces<'a>(ctx: &Ctx<'a>) -> Vec<Interface<'a>> {
    let mut out = Vec::new();
    if let Some(net) = &ctx.fleet.hypervisor.network {
        let i = &net.interfaces;
        out.push((
            Hypervisor,
            "/network/interfaces/address".to_owned(),
            &i.address,
            Some(("/network/interfaces/gateway".to_owned(), &i.gateway)),
        ));
    }
    for (id, c) in ctx.containers() {
        let base = format!("{}/network_config", ct(id));
        let gw = c
            .network_config
            .gw
            .as_ref()
            .map(|g| (format!("{base}/gw"), g));
        out.push((Lxc, format!("{base}/ip"), &c.network_config.ip, gw));
    }
    for (i, vm) in ctx.vms() {
        if let Some(n) = &vm.network_config
            && let Some(ip) = n.ip.cidr()
        {
            let base = format!("/vms/{i}/network_config");
            let gw = n.gw.as_ref().map(|g| (format!("{base}/gw"), g));
            out.push((Vm, format!("{base}/ip"), ip, gw));
        }
    }
    out
}

pub(super) fn addresses(ctx: &mut Ctx<'_>) {
    let mut ips: HashMap<std::net::Ipv4Addr, (ConfigFile, String)> = HashMap::new();
    for (file, pointer, cidr, _) in interfaces(ctx) {
        let ip = cidr.addr();
        match ips.get(&ip) {
            Some((first_file, first)) => {
                let message = format!(
                    "duplicate IP address {ip} at {pointer}: also used at {first}{}",
                    elsewhere(file, *first_file)
                );
                ctx.error(file, &pointer, message);
            }
            None => {
                ips.insert(ip, (file, pointer));
            }
        }
    }
    let mut macs: HashMap<String, String> = HashMap::new();
    let containers: Vec<_> = ctx.containers().collect();
    for (id, c) in containers {
        let Some(mac) = &c.mac_address else { continue };
        let pointer = format!("{}/mac_address", ct(id));
        match macs.get(&mac.normalized()) {
            Some(first) => {
                let message =
                    format!("duplicate MAC address {mac} at {pointer}: also used at {first}");
                ctx.error(Lxc, &pointer, message);
            }
            None => {
                macs.insert(mac.normalized(), pointer);
            }
        }
    }
}

pub(super) fn subnets(ctx: &mut Ctx<'_>) {
    for (file, pointer, cidr, gw) in interfaces(ctx) {
        let ip = cidr.addr();
        // /31 and /32 have no network or broadcast address (RFC 3021).
        if cidr.prefix() <= 30 {
            if ip == cidr.network() {
                ctx.error(
                    file,
                    &pointer,
                    format!("address {cidr} at {pointer}: is the network address of its subnet, not a host address"),
                );
            } else if ip == cidr.broadcast() {
                ctx.error(
                    file,
                    &pointer,
                    format!("address {cidr} at {pointer}: is the broadcast address of its subnet, not a host address"),
                );
            }
        }
        if let Some((gw_pointer, gw)) = gw {
            let subnet = format!("{}/{}", cidr.network(), cidr.prefix());
            if !cidr.contains(gw.addr()) {
                ctx.error(
                    file,
                    &gw_pointer,
                    format!(
                        "gateway {gw} at {gw_pointer}: outside the interface's subnet {subnet}"
                    ),
                );
            } else if gw.addr() == ip {
                ctx.error(
                    file,
                    &gw_pointer,
                    format!("gateway {gw} at {gw_pointer}: is the interface's own address"),
                );
            }
        }
    }
}
