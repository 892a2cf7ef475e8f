//! Step 4 of the data flow: connections that hold a thread without being
//! WebSocket clients: how many there are, from where, and who gives way
//! when there are too many. Three sets are kept this way: connections still
//! sending their request head, connections past it being answered over
//! plain HTTP (or refused an upgrade), and answered ones in their lingering
//! close (where the oldest simply gives way).
//!
//! Sending a request head one byte at a time costs an attacker nothing and
//! holds a thread and a descriptor here until the head deadline; so does a
//! complete request followed by a trickle that keeps the close lingering,
//! or a flood of requests that wait for the history. These are counted
//! apart from WebSocket clients, so they can never take the places of
//! established clients, and bounded twice: in total, and per source (an
//! IPv4 address, or an IPv6 /64). When the total is reached, a newcomer
//! whose source holds fewer than the biggest holder takes the place of that
//! holder's oldest connection: one source, or a few, cannot lock out the
//! others, and honest clients (whose heads arrive at once) get through.

use std::net::{IpAddr, Ipv6Addr};
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex, MutexGuard};

/// The place a connection is counted under: an IPv4 address (IPv4-mapped
/// IPv6 ones unmapped), or an IPv6 /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source(IpAddr);

impl Source {
    /// The source `ip` counts under.
    pub fn of(ip: IpAddr) -> Source {
        match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Source(IpAddr::V4(v4)),
                // One host usually has a whole /64.
                None => Source(IpAddr::V6(Ipv6Addr::from(
                    u128::from(v6) & !((1u128 << 64) - 1),
                ))),
            },
            v4 => Source(v4),
        }
    }
}

struct Entry {
    id: u64,
    source: Source,
    /// The connection's socket, to shut down if it is evicted. Valid while
    /// the entry exists: its owner removes the entry before closing it.
    fd: RawFd,
}

struct Inner {
    /// Oldest first.
    entries: Vec<Entry>,
    next_id: u64,
}

/// A set of connections bounded in total and per source.
pub struct Pending {
    max_total: usize,
    max_per_source: usize,
    inner: Mutex<Inner>,
}

/// One admitted connection's place; dropping it frees the place. Drop it
/// before the socket is closed.
pub struct Slot {
    pending: Arc<Pending>,
    id: u64,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut inner = self.pending.lock();
        inner.entries.retain(|e| e.id != self.id);
    }
}

impl Pending {
    /// At most `max_total` connections in their head, `max_per_source`
    /// from one source.
    pub fn new(max_total: usize, max_per_source: usize) -> Pending {
        Pending {
            max_total: max_total.max(1),
            max_per_source: max_per_source.max(1),
            inner: Mutex::new(Inner {
                entries: Vec::new(),
                next_id: 0,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every update is a single push or retain: still consistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a new connection from `peer` whose socket is `fd`, or `None`
    /// when it must be refused. May shut down another source's oldest
    /// pending connection to make room (its reader then sees end of file).
    pub fn admit(self: &Arc<Pending>, peer: IpAddr, fd: RawFd) -> Option<Slot> {
        let source = Source::of(peer);
        let mut inner = self.lock();
        let count =
            |s: Source, inner: &Inner| inner.entries.iter().filter(|e| e.source == s).count();
        let mine = count(source, &inner);
        if mine >= self.max_per_source {
            return None;
        }
        if inner.entries.len() >= self.max_total {
            // The biggest holder (the first such, for a stable choice).
            let (biggest, most) = inner
                .entries
                .iter()
                .map(|e| (e.source, count(e.source, &inner)))
                .fold((source, 0), |best, c| if c.1 > best.1 { c } else { best });
            if most <= mine {
                // This source already holds as many as anyone.
                return None;
            }
            let at = inner.entries.iter().position(|e| e.source == biggest)?;
            let victim = inner.entries.remove(at);
            // SAFETY: the fd is open (its owner removes the entry, under
            // this lock, before closing it); shutdown does not close it.
            unsafe { libc::shutdown(victim.fd, libc::SHUT_RDWR) };
        }
        let id = inner.next_id;
        inner.next_id += 1;
        inner.entries.push(Entry { id, source, fd });
        Some(Slot {
            pending: self.clone(),
            id,
        })
    }

    /// Counts a new connection from `peer` whose socket is `fd`, always:
    /// when all places are taken, the oldest connection (from any source)
    /// is shut down to make room. For connections whose stay is only a
    /// courtesy, such as a lingering close after the answer is out.
    pub fn admit_oldest_out(self: &Arc<Pending>, peer: IpAddr, fd: RawFd) -> Slot {
        let source = Source::of(peer);
        let mut inner = self.lock();
        if inner.entries.len() >= self.max_total {
            let victim = inner.entries.remove(0);
            // SAFETY: as in `admit`.
            unsafe { libc::shutdown(victim.fd, libc::SHUT_RDWR) };
        }
        let id = inner.next_id;
        inner.next_id += 1;
        inner.entries.push(Entry { id, source, fd });
        Slot {
            pending: self.clone(),
            id,
        }
    }

    /// How many connections hold a place.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsRawFd;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn sources_group_ipv6_by_64_and_unmap_ipv4() {
        assert_eq!(
            Source::of(ip("::ffff:10.0.0.1")),
            Source::of(ip("10.0.0.1"))
        );
        assert_eq!(
            Source::of(ip("2001:db8:1:2::1")),
            Source::of(ip("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(
            Source::of(ip("2001:db8:1:2::1")),
            Source::of(ip("2001:db8:1:3::1"))
        );
    }

    #[test]
    fn limits_per_source_and_total_with_eviction() {
        // Real sockets, so that shutting one down is observable.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let socks: Vec<TcpStream> = (0..10)
            .map(|_| TcpStream::connect(l.local_addr().unwrap()).unwrap())
            .collect();
        let fd = |i: usize| socks[i].as_raw_fd();
        let is_shut = |i: usize| {
            use std::io::Read;
            socks[i].set_nonblocking(true).unwrap();
            matches!((&socks[i]).read(&mut [0u8; 1]), Ok(0))
        };
        let p = Arc::new(Pending::new(4, 3));
        let (a, b, c, d) = (
            ip("192.0.2.1"),
            ip("192.0.2.2"),
            ip("192.0.2.3"),
            ip("192.0.2.4"),
        );
        let mut slots = Vec::new();
        for i in 0..3 {
            slots.push(p.admit(a, fd(i)).unwrap());
        }
        // Per source.
        assert!(p.admit(a, fd(3)).is_none());
        slots.push(p.admit(b, fd(4)).unwrap());
        assert_eq!(p.len(), 4);
        // Full: c (none yet) takes the place of a's oldest (a holds 3).
        slots.push(p.admit(c, fd(5)).unwrap());
        assert_eq!(p.len(), 4);
        assert!(is_shut(0), "a's oldest is shut down");
        assert!(!is_shut(1));
        // a 2, b 1, c 1: d takes a's next oldest.
        slots.push(p.admit(d, fd(6)).unwrap());
        assert!(is_shut(1));
        // a 1, b 1, c 1, d 1: nobody holds more than b, so b waits.
        assert!(p.admit(b, fd(7)).is_none());
        assert!(!is_shut(2) && !is_shut(4) && !is_shut(5) && !is_shut(6));
        // Dropping slots frees places (the evicted ones' drops are harmless).
        slots.clear();
        assert_eq!(p.len(), 0);
        assert!(p.admit(a, fd(8)).is_some());
    }

    #[test]
    fn oldest_out_always_admits() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let socks: Vec<TcpStream> = (0..4)
            .map(|_| TcpStream::connect(l.local_addr().unwrap()).unwrap())
            .collect();
        let is_shut = |i: usize| {
            use std::io::Read;
            socks[i].set_nonblocking(true).unwrap();
            matches!((&socks[i]).read(&mut [0u8; 1]), Ok(0))
        };
        let p = Arc::new(Pending::new(2, 1));
        let a = ip("192.0.2.1");
        // The per-source bound does not apply; the total does.
        let _s: Vec<Slot> = (0..4)
            .map(|i| p.admit_oldest_out(a, socks[i].as_raw_fd()))
            .collect();
        assert_eq!(p.len(), 2);
        assert!(is_shut(0) && is_shut(1));
        assert!(!is_shut(2) && !is_shut(3));
    }
}
