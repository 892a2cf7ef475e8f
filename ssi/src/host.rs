//! This machine's name, as the dashboard, the history API and the
//! notifications (`SSI_HOST`) show it: one definition for all of them.

/// The host name (`uname(2)`'s node name); `localhost` if it is empty.
pub fn name() -> String {
    let uts = rustix::system::uname();
    let name = uts.nodename().to_string_lossy().trim().to_owned();
    if name.is_empty() {
        String::from("localhost")
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_kernel_s_host_name() {
        let kernel = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        assert_eq!(super::name(), kernel.trim());
    }
}
