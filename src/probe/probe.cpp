// The server prober: filled by the probe work.
namespace postern::probe {}
