#pragma once
// Certificates as the report shows them, from the DER bytes the server sent.
#include <optional>
#include <string_view>

#include "postern/probe/probe.hpp"

namespace postern::probe {

/** Subject, names, validity, key and signature of one DER certificate; nullopt if it does not parse. */
std::optional<certificate> describe_certificate(std::string_view der);

}  // namespace postern::probe
