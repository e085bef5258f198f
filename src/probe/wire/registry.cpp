// IANA TLS registries (cipher suites, groups, signature schemes): filled by the probe work.
namespace postern::probe::wire {}
