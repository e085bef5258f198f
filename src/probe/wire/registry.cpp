// IANA TLS registries the probe needs: cipher suites, supported groups, signature schemes.
// Kept as sorted constant tables so lookups by code are a binary search and nothing is built at
// start-up; names are checked against OpenSSL's own table in the unit tests.
#include <algorithm>
#include <cstdio>
#include <string>

#include "postern/probe/wire.hpp"

namespace postern::probe::wire {
namespace {

using kx = key_exchange;
using au = authentication;
using ci = bulk_cipher;
using ma = mac_algorithm;

// Metadata follows from the IANA name; bits is the effective strength (3DES 112). min_version:
// SSLv3 for suites with an MD5/SHA-1 MAC, TLS 1.0 for the PSK SHA-2 suites (RFC 5487/5489 allow
// them there), TLS 1.2 for the other SHA-2 and all AEAD suites, TLS 1.3 for the 1.3 suites.
// clang-format off
constexpr cipher_suite_info suite_table[] = {
    {0x0000, "TLS_NULL_WITH_NULL_NULL", kx::null, au::null, ci::null, ma::null, 0, 0x0300, false},
    {0x0001, "TLS_RSA_WITH_NULL_MD5", kx::rsa, au::rsa, ci::null, ma::md5, 0, 0x0300, false},
    {0x0002, "TLS_RSA_WITH_NULL_SHA", kx::rsa, au::rsa, ci::null, ma::sha1, 0, 0x0300, false},
    {0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5", kx::rsa, au::rsa, ci::rc4, ma::md5, 40, 0x0300, true},
    {0x0004, "TLS_RSA_WITH_RC4_128_MD5", kx::rsa, au::rsa, ci::rc4, ma::md5, 128, 0x0300, false},
    {0x0005, "TLS_RSA_WITH_RC4_128_SHA", kx::rsa, au::rsa, ci::rc4, ma::sha1, 128, 0x0300, false},
    {0x0006, "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5", kx::rsa, au::rsa, ci::rc2_cbc, ma::md5, 40, 0x0300, true},
    {0x0007, "TLS_RSA_WITH_IDEA_CBC_SHA", kx::rsa, au::rsa, ci::idea_cbc, ma::sha1, 128, 0x0300, false},
    {0x0008, "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA", kx::rsa, au::rsa, ci::des_cbc, ma::sha1, 40, 0x0300, true},
    {0x0009, "TLS_RSA_WITH_DES_CBC_SHA", kx::rsa, au::rsa, ci::des_cbc, ma::sha1, 56, 0x0300, false},
    {0x000A, "TLS_RSA_WITH_3DES_EDE_CBC_SHA", kx::rsa, au::rsa, ci::triple_des_ede_cbc, ma::sha1, 112, 0x0300, false},
    {0x000B, "TLS_DH_DSS_EXPORT_WITH_DES40_CBC_SHA", kx::dh, au::dss, ci::des_cbc, ma::sha1, 40, 0x0300, true},
    {0x000C, "TLS_DH_DSS_WITH_DES_CBC_SHA", kx::dh, au::dss, ci::des_cbc, ma::sha1, 56, 0x0300, false},
    {0x000D, "TLS_DH_DSS_WITH_3DES_EDE_CBC_SHA", kx::dh, au::dss, ci::triple_des_ede_cbc, ma::sha1, 112, 0x0300, false},
    {0x000E, "TLS_DH_RSA_EXPORT_WITH_DES40_CBC_SHA", kx::dh, au::rsa, ci::des_cbc, ma::sha1, 40, 0x0300, true},
    {0x000F, "TLS_DH_RSA_WITH_DES_CBC_SHA", kx::dh, au::rsa, ci::des_cbc, ma::sha1, 56, 0x0300, false},
    {0x0010, "TLS_DH_RSA_WITH_3DES_EDE_CBC_SHA", kx::dh, au::rsa, ci::triple_des_ede_cbc, ma::sha1, 112, 0x0300, false},
    {0x0011, "TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA", kx::dhe, au::dss, ci::des_cbc, ma::sha1, 40, 0x0300, true},
    {0x0012, "TLS_DHE_DSS_WITH_DES_CBC_SHA", kx::dhe, au::dss, ci::des_cbc, ma::sha1, 56, 0x0300, false},
    {0x0013, "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA", kx::dhe, au::dss, ci::triple_des_ede_cbc, ma::sha1, 112, 0x0300, false},
    {0x0014, "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA", kx::dhe, au::rsa, ci::des_cbc, ma::sha1, 40, 0x0300, true},
    {0x0015, "TLS_DHE_RSA_WITH_DES_CBC_SHA", kx::dhe, au::rsa, ci::des_cbc, ma::sha1, 56, 0x0300, false},
    {0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA", kx::dhe, au::rsa, ci::triple_des_ede_cbc, ma::sha1, 112, 0x0300, false},
    {0x0017, "TLS_DH_anon_EXPORT_WITH_RC4_40_MD5", kx::dh_anon, au::anon, ci::rc4, ma::md5, 40, 0x0300, true},
    {0x0018, "TLS_DH_anon_WITH_RC4_128_MD5", kx::dh_anon, au::anon, ci::rc4, ma::md5, 128, 0x0300, false},
    {0x0019, "TLS_DH_anon_EXPORT_WITH_DES40_CBC_SHA", kx::dh_anon, au::anon, ci::des_cbc, ma::sha1, 40, 0x0300, true},
    {0x001A, "TLS_DH_anon_WITH_DES_CBC_SHA", kx::dh_anon, au::anon, ci::des_cbc, ma::sha1, 56, 0x0300, false},
    {0x001B, "TLS_DH_anon_WITH_3DES_EDE_CBC_SHA", kx::dh_anon, au::anon, ci::triple_des_ede_cbc, ma::sha1, 112, 0x0300, false},
    {0x001E, "TLS_KRB5_WITH_DES_CBC_SHA", kx::krb5, au::krb5, ci::des_cbc, ma::sha1, 56, 0x0300, false},
    {0x001F, "TLS_KRB5_WITH_3DES_EDE_CBC_SHA", kx::krb5, au::krb5, ci::triple_des_ede_cbc, ma::sha1, 112, 0x0300, false},
    {0x0020, "TLS_KRB5_WITH_RC4_128_SHA", kx::krb5, au::krb5, ci::rc4, ma::sha1, 128, 0x0300, false},
    {0x0021, "TLS_KRB5_WITH_IDEA_CBC_SHA", kx::krb5, au::krb5, ci::idea_cbc, ma::sha1, 128, 0x0300, false},
    {0x0022, "TLS_KRB5_WITH_DES_CBC_MD5", kx::krb5, au::krb5, ci::des_cbc, ma::md5, 56, 0x0300, false},
    {0x0023, "TLS_KRB5_WITH_3DES_EDE_CBC_MD5", kx::krb5, au::krb5, ci::triple_des_ede_cbc, ma::md5, 112, 0x0300, false},
    {0x0024, "TLS_KRB5_WITH_RC4_128_MD5", kx::krb5, au::krb5, ci::rc4, ma::md5, 128, 0x0300, false},
    {0x0025, "TLS_KRB5_WITH_IDEA_CBC_MD5", kx::krb5, au::krb5, ci::idea_cbc, ma::md5, 128, 0x0300, false},
    {0x0026, "TLS_KRB5_EXPORT_WITH_DES_CBC_40_SHA", kx::krb5, au::krb5, ci::des_cbc, ma::sha1, 40, 0x0300, true},
    {0x0027, "TLS_KRB5_EXPORT_WITH_RC2_CBC_40_SHA", kx::krb5, au::krb5, ci::rc2_cbc, ma::sha1, 40, 0x0300, true},
    {0x0028, "TLS_KRB5_EXPORT_WITH_RC4_40_SHA", kx::krb5, au::krb5, ci::rc4, ma::sha1, 40, 0x0300, true},
    {0x0029, "TLS_KRB5_EXPORT_WITH_DES_CBC_40_MD5", kx::krb5, au::krb5, ci::des_cbc, ma::md5, 40, 0x0300, true},
    {0x002A, "TLS_KRB5_EXPORT_WITH_RC2_CBC_40_MD5", kx::krb5, au::krb5, ci::rc2_cbc, ma::md5, 40, 0x0300, true},
    {0x002B, "TLS_KRB5_EXPORT_WITH_RC4_40_MD5", kx::krb5, au::krb5, ci::rc4, ma::md5, 40, 0x0300, true},
    {0x002C, "TLS_PSK_WITH_NULL_SHA", kx::psk, au::psk, ci::null, ma::sha1, 0, 0x0300, false},
    {0x002D, "TLS_DHE_PSK_WITH_NULL_SHA", kx::dhe_psk, au::psk, ci::null, ma::sha1, 0, 0x0300, false},
    {0x002E, "TLS_RSA_PSK_WITH_NULL_SHA", kx::rsa_psk, au::rsa, ci::null, ma::sha1, 0, 0x0300, false},
    {0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA", kx::rsa, au::rsa, ci::aes_cbc, ma::sha1, 128, 0x0300, false},
    {0x0030, "TLS_DH_DSS_WITH_AES_128_CBC_SHA", kx::dh, au::dss, ci::aes_cbc, ma::sha1, 128, 0x0300, false},
    {0x0031, "TLS_DH_RSA_WITH_AES_128_CBC_SHA", kx::dh, au::rsa, ci::aes_cbc, ma::sha1, 128, 0x0300, false},
    {0x0032, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA", kx::dhe, au::dss, ci::aes_cbc, ma::sha1, 128, 0x0300, false},
    {0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", kx::dhe, au::rsa, ci::aes_cbc, ma::sha1, 128, 0x0300, false},
    {0x0034, "TLS_DH_anon_WITH_AES_128_CBC_SHA", kx::dh_anon, au::anon, ci::aes_cbc, ma::sha1, 128, 0x0300, false},
    {0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", kx::rsa, au::rsa, ci::aes_cbc, ma::sha1, 256, 0x0300, false},
    {0x0036, "TLS_DH_DSS_WITH_AES_256_CBC_SHA", kx::dh, au::dss, ci::aes_cbc, ma::sha1, 256, 0x0300, false},
    {0x0037, "TLS_DH_RSA_WITH_AES_256_CBC_SHA", kx::dh, au::rsa, ci::aes_cbc, ma::sha1, 256, 0x0300, false},
    {0x0038, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA", kx::dhe, au::dss, ci::aes_cbc, ma::sha1, 256, 0x0300, false},
    {0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", kx::dhe, au::rsa, ci::aes_cbc, ma::sha1, 256, 0x0300, false},
    {0x003A, "TLS_DH_anon_WITH_AES_256_CBC_SHA", kx::dh_anon, au::anon, ci::aes_cbc, ma::sha1, 256, 0x0300, false},
    {0x003B, "TLS_RSA_WITH_NULL_SHA256", kx::rsa, au::rsa, ci::null, ma::sha256, 0, 0x0303, false},
    {0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256", kx::rsa, au::rsa, ci::aes_cbc, ma::sha256, 128, 0x0303, false},
    {0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256", kx::rsa, au::rsa, ci::aes_cbc, ma::sha256, 256, 0x0303, false},
    {0x003E, "TLS_DH_DSS_WITH_AES_128_CBC_SHA256", kx::dh, au::dss, ci::aes_cbc, ma::sha256, 128, 0x0303, false},
    {0x003F, "TLS_DH_RSA_WITH_AES_128_CBC_SHA256", kx::dh, au::rsa, ci::aes_cbc, ma::sha256, 128, 0x0303, false},
    {0x0040, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256", kx::dhe, au::dss, ci::aes_cbc, ma::sha256, 128, 0x0303, false},
    {0x0041, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA", kx::rsa, au::rsa, ci::camellia_cbc, ma::sha1, 128, 0x0300, false},
    {0x0042, "TLS_DH_DSS_WITH_CAMELLIA_128_CBC_SHA", kx::dh, au::dss, ci::camellia_cbc, ma::sha1, 128, 0x0300, false},
    {0x0043, "TLS_DH_RSA_WITH_CAMELLIA_128_CBC_SHA", kx::dh, au::rsa, ci::camellia_cbc, ma::sha1, 128, 0x0300, false},
    {0x0044, "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA", kx::dhe, au::dss, ci::camellia_cbc, ma::sha1, 128, 0x0300, false},
    {0x0045, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA", kx::dhe, au::rsa, ci::camellia_cbc, ma::sha1, 128, 0x0300, false},
    {0x0046, "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA", kx::dh_anon, au::anon, ci::camellia_cbc, ma::sha1, 128, 0x0300, false},
    // 0x0060-0x0065: the withdrawn EXPORT1024 draft; never assigned, but 1999-era servers still answer.
    {0x0060, "TLS_RSA_EXPORT1024_WITH_RC4_56_MD5", kx::rsa, au::rsa, ci::rc4, ma::md5, 56, 0x0300, true},
    {0x0061, "TLS_RSA_EXPORT1024_WITH_RC2_CBC_56_MD5", kx::rsa, au::rsa, ci::rc2_cbc, ma::md5, 56, 0x0300, true},
    {0x0062, "TLS_RSA_EXPORT1024_WITH_DES_CBC_SHA", kx::rsa, au::rsa, ci::des_cbc, ma::sha1, 56, 0x0300, true},
    {0x0063, "TLS_DHE_DSS_EXPORT1024_WITH_DES_CBC_SHA", kx::dhe, au::dss, ci::des_cbc, ma::sha1, 56, 0x0300, true},
    {0x0064, "TLS_RSA_EXPORT1024_WITH_RC4_56_SHA", kx::rsa, au::rsa, ci::rc4, ma::sha1, 56, 0x0300, true},
    {0x0065, "TLS_DHE_DSS_EXPORT1024_WITH_RC4_56_SHA", kx::dhe, au::dss, ci::rc4, ma::sha1, 56, 0x0300, true},
    {0x0066, "TLS_DHE_DSS_WITH_RC4_128_SHA", kx::dhe, au::dss, ci::rc4, ma::sha1, 128, 0x0300, false},
    {0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", kx::dhe, au::rsa, ci::aes_cbc, ma::sha256, 128, 0x0303, false},
    {0x0068, "TLS_DH_DSS_WITH_AES_256_CBC_SHA256", kx::dh, au::dss, ci::aes_cbc, ma::sha256, 256, 0x0303, false},
    {0x0069, "TLS_DH_RSA_WITH_AES_256_CBC_SHA256", kx::dh, au::rsa, ci::aes_cbc, ma::sha256, 256, 0x0303, false},
    {0x006A, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256", kx::dhe, au::dss, ci::aes_cbc, ma::sha256, 256, 0x0303, false},
    {0x006B, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", kx::dhe, au::rsa, ci::aes_cbc, ma::sha256, 256, 0x0303, false},
    {0x006C, "TLS_DH_anon_WITH_AES_128_CBC_SHA256", kx::dh_anon, au::anon, ci::aes_cbc, ma::sha256, 128, 0x0303, false},
    {0x006D, "TLS_DH_anon_WITH_AES_256_CBC_SHA256", kx::dh_anon, au::anon, ci::aes_cbc, ma::sha256, 256, 0x0303, false},
    {0x0084, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA", kx::rsa, au::rsa, ci::camellia_cbc, ma::sha1, 256, 0x0300, false},
    {0x0085, "TLS_DH_DSS_WITH_CAMELLIA_256_CBC_SHA", kx::dh, au::dss, ci::camellia_cbc, ma::sha1, 256, 0x0300, false},
    {0x0086, "TLS_DH_RSA_WITH_CAMELLIA_256_CBC_SHA", kx::dh, au::rsa, ci::camellia_cbc, ma::sha1, 256, 0x0300, false},
    {0x0087, "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA", kx::dhe, au::dss, ci::camellia_cbc, ma::sha1, 256, 0x0300, false},
    {0x0088, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA", kx::dhe, au::rsa, ci::camellia_cbc, ma::sha1, 256, 0x0300, false},
    {0x0089, "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA", kx::dh_anon, au::anon, ci::camellia_cbc, ma::sha1, 256, 0x0300, false},
    {0x008A, "TLS_PSK_WITH_RC4_128_SHA", kx::psk, au::psk, ci::rc4, ma::sha1, 128, 0x0300, false},
    {0x008B, "TLS_PSK_WITH_3DES_EDE_CBC_SHA", kx::psk, au::psk, ci::triple_des_ede_cbc, ma::sha1, 112, 0x0300, false},
    {0x008C, "TLS_PSK_WITH_AES_128_CBC_SHA", kx::psk, au::psk, ci::aes_cbc, ma::sha1, 128, 0x0300, false},
    {0x008D, "TLS_PSK_WITH_AES_256_CBC_SHA", kx::psk, au::psk, ci::aes_cbc, ma::sha1, 256, 0x0300, false},
    {0x008E, "TLS_DHE_PSK_WITH_RC4_128_SHA", kx::dhe_psk, au::psk, ci::rc4, ma::sha1, 128, 0x0300, false},
    {0x008F, "TLS_DHE_PSK_WITH_3DES_EDE_CBC_SHA", kx::dhe_psk, au::psk, ci::triple_des_ede_cbc, ma::sha1, 112, 0x0300, false},
    {0x0090, "TLS_DHE_PSK_WITH_AES_128_CBC_SHA", kx::dhe_psk, au::psk, ci::aes_cbc, ma::sha1, 128, 0x0300, false},
    {0x0091, "TLS_DHE_PSK_WITH_AES_256_CBC_SHA", kx::dhe_psk, au::psk, ci::aes_cbc, ma::sha1, 256, 0x0300, false},
    {0x0092, "TLS_RSA_PSK_WITH_RC4_128_SHA", kx::rsa_psk, au::rsa, ci::rc4, ma::sha1, 128, 0x0300, false},
    {0x0093, "TLS_RSA_PSK_WITH_3DES_EDE_CBC_SHA", kx::rsa_psk, au::rsa, ci::triple_des_ede_cbc, ma::sha1, 112, 0x0300, false},
    {0x0094, "TLS_RSA_PSK_WITH_AES_128_CBC_SHA", kx::rsa_psk, au::rsa, ci::aes_cbc, ma::sha1, 128, 0x0300, false},
    {0x0095, "TLS_RSA_PSK_WITH_AES_256_CBC_SHA", kx::rsa_psk, au::rsa, ci::aes_cbc, ma::sha1, 256, 0x0300, false},
    {0x0096, "TLS_RSA_WITH_SEED_CBC_SHA", kx::rsa, au::rsa, ci::seed_cbc, ma::sha1, 128, 0x0300, false},
    {0x0097, "TLS_DH_DSS_WITH_SEED_CBC_SHA", kx::dh, au::dss, ci::seed_cbc, ma::sha1, 128, 0x0300, false},
    {0x0098, "TLS_DH_RSA_WITH_SEED_CBC_SHA", kx::dh, au::rsa, ci::seed_cbc, ma::sha1, 128, 0x0300, false},
    {0x0099, "TLS_DHE_DSS_WITH_SEED_CBC_SHA", kx::dhe, au::dss, ci::seed_cbc, ma::sha1, 128, 0x0300, false},
    {0x009A, "TLS_DHE_RSA_WITH_SEED_CBC_SHA", kx::dhe, au::rsa, ci::seed_cbc, ma::sha1, 128, 0x0300, false},
    {0x009B, "TLS_DH_anon_WITH_SEED_CBC_SHA", kx::dh_anon, au::anon, ci::seed_cbc, ma::sha1, 128, 0x0300, false},
    {0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256", kx::rsa, au::rsa, ci::aes_gcm, ma::aead, 128, 0x0303, false},
    {0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384", kx::rsa, au::rsa, ci::aes_gcm, ma::aead, 256, 0x0303, false},
    {0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", kx::dhe, au::rsa, ci::aes_gcm, ma::aead, 128, 0x0303, false},
    {0x009F, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", kx::dhe, au::rsa, ci::aes_gcm, ma::aead, 256, 0x0303, false},
    {0x00A0, "TLS_DH_RSA_WITH_AES_128_GCM_SHA256", kx::dh, au::rsa, ci::aes_gcm, ma::aead, 128, 0x0303, false},
    {0x00A1, "TLS_DH_RSA_WITH_AES_256_GCM_SHA384", kx::dh, au::rsa, ci::aes_gcm, ma::aead, 256, 0x0303, false},
    {0x00A2, "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256", kx::dhe, au::dss, ci::aes_gcm, ma::aead, 128, 0x0303, false},
    {0x00A3, "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384", kx::dhe, au::dss, ci::aes_gcm, ma::aead, 256, 0x0303, false},
    {0x00A4, "TLS_DH_DSS_WITH_AES_128_GCM_SHA256", kx::dh, au::dss, ci::aes_gcm, ma::aead, 128, 0x0303, false},
    {0x00A5, "TLS_DH_DSS_WITH_AES_256_GCM_SHA384", kx::dh, au::dss, ci::aes_gcm, ma::aead, 256, 0x0303, false},
    {0x00A6, "TLS_DH_anon_WITH_AES_128_GCM_SHA256", kx::dh_anon, au::anon, ci::aes_gcm, ma::aead, 128, 0x0303, false},
    {0x00A7, "TLS_DH_anon_WITH_AES_256_GCM_SHA384", kx::dh_anon, au::anon, ci::aes_gcm, ma::aead, 256, 0x0303, false},
    {0x00A8, "TLS_PSK_WITH_AES_128_GCM_SHA256", kx::psk, au::psk, ci::aes_gcm, ma::aead, 128, 0x0303, false},
    {0x00A9, "TLS_PSK_WITH_AES_256_GCM_SHA384", kx::psk, au::psk, ci::aes_gcm, ma::aead, 256, 0x0303, false},
    {0x00AA, "TLS_DHE_PSK_WITH_AES_128_GCM_SHA256", kx::dhe_psk, au::psk, ci::aes_gcm, ma::aead, 128, 0x0303, false},
    {0x00AB, "TLS_DHE_PSK_WITH_AES_256_GCM_SHA384", kx::dhe_psk, au::psk, ci::aes_gcm, ma::aead, 256, 0x0303, false},
    {0x00AC, "TLS_RSA_PSK_WITH_AES_128_GCM_SHA256", kx::rsa_psk, au::rsa, ci::aes_gcm, ma::aead, 128, 0x0303, false},
    {0x00AD, "TLS_RSA_PSK_WITH_AES_256_GCM_SHA384", kx::rsa_psk, au::rsa, ci::aes_gcm, ma::aead, 256, 0x0303, false},
    {0x00AE, "TLS_PSK_WITH_AES_128_CBC_SHA256", kx::psk, au::psk, ci::aes_cbc, ma::sha256, 128, 0x0301, false},
    {0x00AF, "TLS_PSK_WITH_AES_256_CBC_SHA384", kx::psk, au::psk, ci::aes_cbc, ma::sha384, 256, 0x0301, false},
    {0x00B0, "TLS_PSK_WITH_NULL_SHA256", kx::psk, au::psk, ci::null, ma::sha256, 0, 0x0301, false},
    {0x00B1, "TLS_PSK_WITH_NULL_SHA384", kx::psk, au::psk, ci::null, ma::sha384, 0, 0x0301, false},
    {0x00B2, "TLS_DHE_PSK_WITH_AES_128_CBC_SHA256", kx::dhe_psk, au::psk, ci::aes_cbc, ma::sha256, 128, 0x0301, false},
    {0x00B3, "TLS_DHE_PSK_WITH_AES_256_CBC_SHA384", kx::dhe_psk, au::psk, ci::aes_cbc, ma::sha384, 256, 0x0301, false},
    {0x00B4, "TLS_DHE_PSK_WITH_NULL_SHA256", kx::dhe_psk, au::psk, ci::null, ma::sha256, 0, 0x0301, false},
    {0x00B5, "TLS_DHE_PSK_WITH_NULL_SHA384", kx::dhe_psk, au::psk, ci::null, ma::sha384, 0, 0x0301, false},
    {0x00B6, "TLS_RSA_PSK_WITH_AES_128_CBC_SHA256", kx::rsa_psk, au::rsa, ci::aes_cbc, ma::sha256, 128, 0x0301, false},
    {0x00B7, "TLS_RSA_PSK_WITH_AES_256_CBC_SHA384", kx::rsa_psk, au::rsa, ci::aes_cbc, ma::sha384, 256, 0x0301, false},
    {0x00B8, "TLS_RSA_PSK_WITH_NULL_SHA256", kx::rsa_psk, au::rsa, ci::null, ma::sha256, 0, 0x0301, false},
    {0x00B9, "TLS_RSA_PSK_WITH_NULL_SHA384", kx::rsa_psk, au::rsa, ci::null, ma::sha384, 0, 0x0301, false},
    {0x00BA, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA256", kx::rsa, au::rsa, ci::camellia_cbc, ma::sha256, 128, 0x0303, false},
    {0x00BB, "TLS_DH_DSS_WITH_CAMELLIA_128_CBC_SHA256", kx::dh, au::dss, ci::camellia_cbc, ma::sha256, 128, 0x0303, false},
    {0x00BC, "TLS_DH_RSA_WITH_CAMELLIA_128_CBC_SHA256", kx::dh, au::rsa, ci::camellia_cbc, ma::sha256, 128, 0x0303, false},
    {0x00BD, "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA256", kx::dhe, au::dss, ci::camellia_cbc, ma::sha256, 128, 0x0303, false},
    {0x00BE, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA256", kx::dhe, au::rsa, ci::camellia_cbc, ma::sha256, 128, 0x0303, false},
    {0x00BF, "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA256", kx::dh_anon, au::anon, ci::camellia_cbc, ma::sha256, 128, 0x0303, false},
    {0x00C0, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA256", kx::rsa, au::rsa, ci::camellia_cbc, ma::sha256, 256, 0x0303, false},
    {0x00C1, "TLS_DH_DSS_WITH_CAMELLIA_256_CBC_SHA256", kx::dh, au::dss, ci::camellia_cbc, ma::sha256, 256, 0x0303, false},
    {0x00C2, "TLS_DH_RSA_WITH_CAMELLIA_256_CBC_SHA256", kx::dh, au::rsa, ci::camellia_cbc, ma::sha256, 256, 0x0303, false},
    {0x00C3, "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA256", kx::dhe, au::dss, ci::camellia_cbc, ma::sha256, 256, 0x0303, false},
    {0x00C4, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA256", kx::dhe, au::rsa, ci::camellia_cbc, ma::sha256, 256, 0x0303, false},
    {0x00C5, "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA256", kx::dh_anon, au::anon, ci::camellia_cbc, ma::sha256, 256, 0x0303, false},
    {0x00C6, "TLS_SM4_GCM_SM3", kx::any, au::any, ci::sm4_gcm, ma::aead, 128, 0x0304, false},
    {0x00C7, "TLS_SM4_CCM_SM3", kx::any, au::any, ci::sm4_ccm, ma::aead, 128, 0x0304, false},
    {0x1301, "TLS_AES_128_GCM_SHA256", kx::any, au::any, ci::aes_gcm, ma::aead, 128, 0x0304, false},
    {0x1302, "TLS_AES_256_GCM_SHA384", kx::any, au::any, ci::aes_gcm, ma::aead, 256, 0x0304, false},
    {0x1303, "TLS_CHACHA20_POLY1305_SHA256", kx::any, au::any, ci::chacha20_poly1305, ma::aead, 256, 0x0304, false},
    {0x1304, "TLS_AES_128_CCM_SHA256", kx::any, au::any, ci::aes_ccm, ma::aead, 128, 0x0304, false},
    {0x1305, "TLS_AES_128_CCM_8_SHA256", kx::any, au::any, ci::aes_ccm_8, ma::aead, 128, 0x0304, false},
    {0xC001, "TLS_ECDH_ECDSA_WITH_NULL_SHA", kx::ecdh, au::ecdsa, ci::null, ma::sha1, 0, 0x0300, false},
    {0xC002, "TLS_ECDH_ECDSA_WITH_RC4_128_SHA", kx::ecdh, au::ecdsa, ci::rc4, ma::sha1, 128, 0x0300, false},
    {0xC003, "TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA", kx::ecdh, au::ecdsa, ci::triple_des_ede_cbc, ma::sha1, 112, 0x0300, false},
    {0xC004, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA", kx::ecdh, au::ecdsa, ci::aes_cbc, ma::sha1, 128, 0x0300, false},
    {0xC005, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA", kx::ecdh, au::ecdsa, ci::aes_cbc, ma::sha1, 256, 0x0300, false},
    {0xC006, "TLS_ECDHE_ECDSA_WITH_NULL_SHA", kx::ecdhe, au::ecdsa, ci::null, ma::sha1, 0, 0x0300, false},
    {0xC007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", kx::ecdhe, au::ecdsa, ci::rc4, ma::sha1, 128, 0x0300, false},
    {0xC008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA", kx::ecdhe, au::ecdsa, ci::triple_des_ede_cbc, ma::sha1, 112, 0x0300, false},
    {0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", kx::ecdhe, au::ecdsa, ci::aes_cbc, ma::sha1, 128, 0x0300, false},
    {0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", kx::ecdhe, au::ecdsa, ci::aes_cbc, ma::sha1, 256, 0x0300, false},
    {0xC00B, "TLS_ECDH_RSA_WITH_NULL_SHA", kx::ecdh, au::rsa, ci::null, ma::sha1, 0, 0x0300, false},
    {0xC00C, "TLS_ECDH_RSA_WITH_RC4_128_SHA", kx::ecdh, au::rsa, ci::rc4, ma::sha1, 128, 0x0300, false},
    {0xC00D, "TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA", kx::ecdh, au::rsa, ci::triple_des_ede_cbc, ma::sha1, 112, 0x0300, false},
    {0xC00E, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA", kx::ecdh, au::rsa, ci::aes_cbc, ma::sha1, 128, 0x0300, false},
    {0xC00F, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA", kx::ecdh, au::rsa, ci::aes_cbc, ma::sha1, 256, 0x0300, false},
    {0xC010, "TLS_ECDHE_RSA_WITH_NULL_SHA", kx::ecdhe, au::rsa, ci::null, ma::sha1, 0, 0x0300, false},
    {0xC011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA", kx::ecdhe, au::rsa, ci::rc4, ma::sha1, 128, 0x0300, false},
    {0xC012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", kx::ecdhe, au::rsa, ci::triple_des_ede_cbc, ma::sha1, 112, 0x0300, false},
    {0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", kx::ecdhe, au::rsa, ci::aes_cbc, ma::sha1, 128, 0x0300, false},
    {0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", kx::ecdhe, au::rsa, ci::aes_cbc, ma::sha1, 256, 0x0300, false},
    {0xC015, "TLS_ECDH_anon_WITH_NULL_SHA", kx::ecdh_anon, au::anon, ci::null, ma::sha1, 0, 0x0300, false},
    {0xC016, "TLS_ECDH_anon_WITH_RC4_128_SHA", kx::ecdh_anon, au::anon, ci::rc4, ma::sha1, 128, 0x0300, false},
    {0xC017, "TLS_ECDH_anon_WITH_3DES_EDE_CBC_SHA", kx::ecdh_anon, au::anon, ci::triple_des_ede_cbc, ma::sha1, 112, 0x0300, false},
    {0xC018, "TLS_ECDH_anon_WITH_AES_128_CBC_SHA", kx::ecdh_anon, au::anon, ci::aes_cbc, ma::sha1, 128, 0x0300, false},
    {0xC019, "TLS_ECDH_anon_WITH_AES_256_CBC_SHA", kx::ecdh_anon, au::anon, ci::aes_cbc, ma::sha1, 256, 0x0300, false},
    {0xC01A, "TLS_SRP_SHA_WITH_3DES_EDE_CBC_SHA", kx::srp, au::srp, ci::triple_des_ede_cbc, ma::sha1, 112, 0x0300, false},
    {0xC01B, "TLS_SRP_SHA_RSA_WITH_3DES_EDE_CBC_SHA", kx::srp, au::rsa, ci::triple_des_ede_cbc, ma::sha1, 112, 0x0300, false},
    {0xC01C, "TLS_SRP_SHA_DSS_WITH_3DES_EDE_CBC_SHA", kx::srp, au::dss, ci::triple_des_ede_cbc, ma::sha1, 112, 0x0300, false},
    {0xC01D, "TLS_SRP_SHA_WITH_AES_128_CBC_SHA", kx::srp, au::srp, ci::aes_cbc, ma::sha1, 128, 0x0300, false},
    {0xC01E, "TLS_SRP_SHA_RSA_WITH_AES_128_CBC_SHA", kx::srp, au::rsa, ci::aes_cbc, ma::sha1, 128, 0x0300, false},
    {0xC01F, "TLS_SRP_SHA_DSS_WITH_AES_128_CBC_SHA", kx::srp, au::dss, ci::aes_cbc, ma::sha1, 128, 0x0300, false},
    {0xC020, "TLS_SRP_SHA_WITH_AES_256_CBC_SHA", kx::srp, au::srp, ci::aes_cbc, ma::sha1, 256, 0x0300, false},
    {0xC021, "TLS_SRP_SHA_RSA_WITH_AES_256_CBC_SHA", kx::srp, au::rsa, ci::aes_cbc, ma::sha1, 256, 0x0300, false},
    {0xC022, "TLS_SRP_SHA_DSS_WITH_AES_256_CBC_SHA", kx::srp, au::dss, ci::aes_cbc, ma::sha1, 256, 0x0300, false},
    {0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", kx::ecdhe, au::ecdsa, ci::aes_cbc, ma::sha256, 128, 0x0303, false},
    {0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", kx::ecdhe, au::ecdsa, ci::aes_cbc, ma::sha384, 256, 0x0303, false},
    {0xC025, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256", kx::ecdh, au::ecdsa, ci::aes_cbc, ma::sha256, 128, 0x0303, false},
    {0xC026, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384", kx::ecdh, au::ecdsa, ci::aes_cbc, ma::sha384, 256, 0x0303, false},
    {0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", kx::ecdhe, au::rsa, ci::aes_cbc, ma::sha256, 128, 0x0303, false},
    {0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", kx::ecdhe, au::rsa, ci::aes_cbc, ma::sha384, 256, 0x0303, false},
    {0xC029, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256", kx::ecdh, au::rsa, ci::aes_cbc, ma::sha256, 128, 0x0303, false},
    {0xC02A, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384", kx::ecdh, au::rsa, ci::aes_cbc, ma::sha384, 256, 0x0303, false},
    {0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", kx::ecdhe, au::ecdsa, ci::aes_gcm, ma::aead, 128, 0x0303, false},
    {0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", kx::ecdhe, au::ecdsa, ci::aes_gcm, ma::aead, 256, 0x0303, false},
    {0xC02D, "TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256", kx::ecdh, au::ecdsa, ci::aes_gcm, ma::aead, 128, 0x0303, false},
    {0xC02E, "TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384", kx::ecdh, au::ecdsa, ci::aes_gcm, ma::aead, 256, 0x0303, false},
    {0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", kx::ecdhe, au::rsa, ci::aes_gcm, ma::aead, 128, 0x0303, false},
    {0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", kx::ecdhe, au::rsa, ci::aes_gcm, ma::aead, 256, 0x0303, false},
    {0xC031, "TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256", kx::ecdh, au::rsa, ci::aes_gcm, ma::aead, 128, 0x0303, false},
    {0xC032, "TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384", kx::ecdh, au::rsa, ci::aes_gcm, ma::aead, 256, 0x0303, false},
    {0xC033, "TLS_ECDHE_PSK_WITH_RC4_128_SHA", kx::ecdhe_psk, au::psk, ci::rc4, ma::sha1, 128, 0x0300, false},
    {0xC034, "TLS_ECDHE_PSK_WITH_3DES_EDE_CBC_SHA", kx::ecdhe_psk, au::psk, ci::triple_des_ede_cbc, ma::sha1, 112, 0x0300, false},
    {0xC035, "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA", kx::ecdhe_psk, au::psk, ci::aes_cbc, ma::sha1, 128, 0x0300, false},
    {0xC036, "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA", kx::ecdhe_psk, au::psk, ci::aes_cbc, ma::sha1, 256, 0x0300, false},
    {0xC037, "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256", kx::ecdhe_psk, au::psk, ci::aes_cbc, ma::sha256, 128, 0x0301, false},
    {0xC038, "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA384", kx::ecdhe_psk, au::psk, ci::aes_cbc, ma::sha384, 256, 0x0301, false},
    {0xC039, "TLS_ECDHE_PSK_WITH_NULL_SHA", kx::ecdhe_psk, au::psk, ci::null, ma::sha1, 0, 0x0300, false},
    {0xC03A, "TLS_ECDHE_PSK_WITH_NULL_SHA256", kx::ecdhe_psk, au::psk, ci::null, ma::sha256, 0, 0x0301, false},
    {0xC03B, "TLS_ECDHE_PSK_WITH_NULL_SHA384", kx::ecdhe_psk, au::psk, ci::null, ma::sha384, 0, 0x0301, false},
    {0xC03C, "TLS_RSA_WITH_ARIA_128_CBC_SHA256", kx::rsa, au::rsa, ci::aria_cbc, ma::sha256, 128, 0x0303, false},
    {0xC03D, "TLS_RSA_WITH_ARIA_256_CBC_SHA384", kx::rsa, au::rsa, ci::aria_cbc, ma::sha384, 256, 0x0303, false},
    {0xC03E, "TLS_DH_DSS_WITH_ARIA_128_CBC_SHA256", kx::dh, au::dss, ci::aria_cbc, ma::sha256, 128, 0x0303, false},
    {0xC03F, "TLS_DH_DSS_WITH_ARIA_256_CBC_SHA384", kx::dh, au::dss, ci::aria_cbc, ma::sha384, 256, 0x0303, false},
    {0xC040, "TLS_DH_RSA_WITH_ARIA_128_CBC_SHA256", kx::dh, au::rsa, ci::aria_cbc, ma::sha256, 128, 0x0303, false},
    {0xC041, "TLS_DH_RSA_WITH_ARIA_256_CBC_SHA384", kx::dh, au::rsa, ci::aria_cbc, ma::sha384, 256, 0x0303, false},
    {0xC042, "TLS_DHE_DSS_WITH_ARIA_128_CBC_SHA256", kx::dhe, au::dss, ci::aria_cbc, ma::sha256, 128, 0x0303, false},
    {0xC043, "TLS_DHE_DSS_WITH_ARIA_256_CBC_SHA384", kx::dhe, au::dss, ci::aria_cbc, ma::sha384, 256, 0x0303, false},
    {0xC044, "TLS_DHE_RSA_WITH_ARIA_128_CBC_SHA256", kx::dhe, au::rsa, ci::aria_cbc, ma::sha256, 128, 0x0303, false},
    {0xC045, "TLS_DHE_RSA_WITH_ARIA_256_CBC_SHA384", kx::dhe, au::rsa, ci::aria_cbc, ma::sha384, 256, 0x0303, false},
    {0xC046, "TLS_DH_anon_WITH_ARIA_128_CBC_SHA256", kx::dh_anon, au::anon, ci::aria_cbc, ma::sha256, 128, 0x0303, false},
    {0xC047, "TLS_DH_anon_WITH_ARIA_256_CBC_SHA384", kx::dh_anon, au::anon, ci::aria_cbc, ma::sha384, 256, 0x0303, false},
    {0xC048, "TLS_ECDHE_ECDSA_WITH_ARIA_128_CBC_SHA256", kx::ecdhe, au::ecdsa, ci::aria_cbc, ma::sha256, 128, 0x0303, false},
    {0xC049, "TLS_ECDHE_ECDSA_WITH_ARIA_256_CBC_SHA384", kx::ecdhe, au::ecdsa, ci::aria_cbc, ma::sha384, 256, 0x0303, false},
    {0xC04A, "TLS_ECDH_ECDSA_WITH_ARIA_128_CBC_SHA256", kx::ecdh, au::ecdsa, ci::aria_cbc, ma::sha256, 128, 0x0303, false},
    {0xC04B, "TLS_ECDH_ECDSA_WITH_ARIA_256_CBC_SHA384", kx::ecdh, au::ecdsa, ci::aria_cbc, ma::sha384, 256, 0x0303, false},
    {0xC04C, "TLS_ECDHE_RSA_WITH_ARIA_128_CBC_SHA256", kx::ecdhe, au::rsa, ci::aria_cbc, ma::sha256, 128, 0x0303, false},
    {0xC04D, "TLS_ECDHE_RSA_WITH_ARIA_256_CBC_SHA384", kx::ecdhe, au::rsa, ci::aria_cbc, ma::sha384, 256, 0x0303, false},
    {0xC04E, "TLS_ECDH_RSA_WITH_ARIA_128_CBC_SHA256", kx::ecdh, au::rsa, ci::aria_cbc, ma::sha256, 128, 0x0303, false},
    {0xC04F, "TLS_ECDH_RSA_WITH_ARIA_256_CBC_SHA384", kx::ecdh, au::rsa, ci::aria_cbc, ma::sha384, 256, 0x0303, false},
    {0xC050, "TLS_RSA_WITH_ARIA_128_GCM_SHA256", kx::rsa, au::rsa, ci::aria_gcm, ma::aead, 128, 0x0303, false},
    {0xC051, "TLS_RSA_WITH_ARIA_256_GCM_SHA384", kx::rsa, au::rsa, ci::aria_gcm, ma::aead, 256, 0x0303, false},
    {0xC052, "TLS_DHE_RSA_WITH_ARIA_128_GCM_SHA256", kx::dhe, au::rsa, ci::aria_gcm, ma::aead, 128, 0x0303, false},
    {0xC053, "TLS_DHE_RSA_WITH_ARIA_256_GCM_SHA384", kx::dhe, au::rsa, ci::aria_gcm, ma::aead, 256, 0x0303, false},
    {0xC054, "TLS_DH_RSA_WITH_ARIA_128_GCM_SHA256", kx::dh, au::rsa, ci::aria_gcm, ma::aead, 128, 0x0303, false},
    {0xC055, "TLS_DH_RSA_WITH_ARIA_256_GCM_SHA384", kx::dh, au::rsa, ci::aria_gcm, ma::aead, 256, 0x0303, false},
    {0xC056, "TLS_DHE_DSS_WITH_ARIA_128_GCM_SHA256", kx::dhe, au::dss, ci::aria_gcm, ma::aead, 128, 0x0303, false},
    {0xC057, "TLS_DHE_DSS_WITH_ARIA_256_GCM_SHA384", kx::dhe, au::dss, ci::aria_gcm, ma::aead, 256, 0x0303, false},
    {0xC058, "TLS_DH_DSS_WITH_ARIA_128_GCM_SHA256", kx::dh, au::dss, ci::aria_gcm, ma::aead, 128, 0x0303, false},
    {0xC059, "TLS_DH_DSS_WITH_ARIA_256_GCM_SHA384", kx::dh, au::dss, ci::aria_gcm, ma::aead, 256, 0x0303, false},
    {0xC05A, "TLS_DH_anon_WITH_ARIA_128_GCM_SHA256", kx::dh_anon, au::anon, ci::aria_gcm, ma::aead, 128, 0x0303, false},
    {0xC05B, "TLS_DH_anon_WITH_ARIA_256_GCM_SHA384", kx::dh_anon, au::anon, ci::aria_gcm, ma::aead, 256, 0x0303, false},
    {0xC05C, "TLS_ECDHE_ECDSA_WITH_ARIA_128_GCM_SHA256", kx::ecdhe, au::ecdsa, ci::aria_gcm, ma::aead, 128, 0x0303, false},
    {0xC05D, "TLS_ECDHE_ECDSA_WITH_ARIA_256_GCM_SHA384", kx::ecdhe, au::ecdsa, ci::aria_gcm, ma::aead, 256, 0x0303, false},
    {0xC05E, "TLS_ECDH_ECDSA_WITH_ARIA_128_GCM_SHA256", kx::ecdh, au::ecdsa, ci::aria_gcm, ma::aead, 128, 0x0303, false},
    {0xC05F, "TLS_ECDH_ECDSA_WITH_ARIA_256_GCM_SHA384", kx::ecdh, au::ecdsa, ci::aria_gcm, ma::aead, 256, 0x0303, false},
    {0xC060, "TLS_ECDHE_RSA_WITH_ARIA_128_GCM_SHA256", kx::ecdhe, au::rsa, ci::aria_gcm, ma::aead, 128, 0x0303, false},
    {0xC061, "TLS_ECDHE_RSA_WITH_ARIA_256_GCM_SHA384", kx::ecdhe, au::rsa, ci::aria_gcm, ma::aead, 256, 0x0303, false},
    {0xC062, "TLS_ECDH_RSA_WITH_ARIA_128_GCM_SHA256", kx::ecdh, au::rsa, ci::aria_gcm, ma::aead, 128, 0x0303, false},
    {0xC063, "TLS_ECDH_RSA_WITH_ARIA_256_GCM_SHA384", kx::ecdh, au::rsa, ci::aria_gcm, ma::aead, 256, 0x0303, false},
    {0xC064, "TLS_PSK_WITH_ARIA_128_CBC_SHA256", kx::psk, au::psk, ci::aria_cbc, ma::sha256, 128, 0x0301, false},
    {0xC065, "TLS_PSK_WITH_ARIA_256_CBC_SHA384", kx::psk, au::psk, ci::aria_cbc, ma::sha384, 256, 0x0301, false},
    {0xC066, "TLS_DHE_PSK_WITH_ARIA_128_CBC_SHA256", kx::dhe_psk, au::psk, ci::aria_cbc, ma::sha256, 128, 0x0301, false},
    {0xC067, "TLS_DHE_PSK_WITH_ARIA_256_CBC_SHA384", kx::dhe_psk, au::psk, ci::aria_cbc, ma::sha384, 256, 0x0301, false},
    {0xC068, "TLS_RSA_PSK_WITH_ARIA_128_CBC_SHA256", kx::rsa_psk, au::rsa, ci::aria_cbc, ma::sha256, 128, 0x0301, false},
    {0xC069, "TLS_RSA_PSK_WITH_ARIA_256_CBC_SHA384", kx::rsa_psk, au::rsa, ci::aria_cbc, ma::sha384, 256, 0x0301, false},
    {0xC06A, "TLS_PSK_WITH_ARIA_128_GCM_SHA256", kx::psk, au::psk, ci::aria_gcm, ma::aead, 128, 0x0303, false},
    {0xC06B, "TLS_PSK_WITH_ARIA_256_GCM_SHA384", kx::psk, au::psk, ci::aria_gcm, ma::aead, 256, 0x0303, false},
    {0xC06C, "TLS_DHE_PSK_WITH_ARIA_128_GCM_SHA256", kx::dhe_psk, au::psk, ci::aria_gcm, ma::aead, 128, 0x0303, false},
    {0xC06D, "TLS_DHE_PSK_WITH_ARIA_256_GCM_SHA384", kx::dhe_psk, au::psk, ci::aria_gcm, ma::aead, 256, 0x0303, false},
    {0xC06E, "TLS_RSA_PSK_WITH_ARIA_128_GCM_SHA256", kx::rsa_psk, au::rsa, ci::aria_gcm, ma::aead, 128, 0x0303, false},
    {0xC06F, "TLS_RSA_PSK_WITH_ARIA_256_GCM_SHA384", kx::rsa_psk, au::rsa, ci::aria_gcm, ma::aead, 256, 0x0303, false},
    {0xC070, "TLS_ECDHE_PSK_WITH_ARIA_128_CBC_SHA256", kx::ecdhe_psk, au::psk, ci::aria_cbc, ma::sha256, 128, 0x0301, false},
    {0xC071, "TLS_ECDHE_PSK_WITH_ARIA_256_CBC_SHA384", kx::ecdhe_psk, au::psk, ci::aria_cbc, ma::sha384, 256, 0x0301, false},
    {0xC072, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_CBC_SHA256", kx::ecdhe, au::ecdsa, ci::camellia_cbc, ma::sha256, 128, 0x0303, false},
    {0xC073, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_CBC_SHA384", kx::ecdhe, au::ecdsa, ci::camellia_cbc, ma::sha384, 256, 0x0303, false},
    {0xC074, "TLS_ECDH_ECDSA_WITH_CAMELLIA_128_CBC_SHA256", kx::ecdh, au::ecdsa, ci::camellia_cbc, ma::sha256, 128, 0x0303, false},
    {0xC075, "TLS_ECDH_ECDSA_WITH_CAMELLIA_256_CBC_SHA384", kx::ecdh, au::ecdsa, ci::camellia_cbc, ma::sha384, 256, 0x0303, false},
    {0xC076, "TLS_ECDHE_RSA_WITH_CAMELLIA_128_CBC_SHA256", kx::ecdhe, au::rsa, ci::camellia_cbc, ma::sha256, 128, 0x0303, false},
    {0xC077, "TLS_ECDHE_RSA_WITH_CAMELLIA_256_CBC_SHA384", kx::ecdhe, au::rsa, ci::camellia_cbc, ma::sha384, 256, 0x0303, false},
    {0xC078, "TLS_ECDH_RSA_WITH_CAMELLIA_128_CBC_SHA256", kx::ecdh, au::rsa, ci::camellia_cbc, ma::sha256, 128, 0x0303, false},
    {0xC079, "TLS_ECDH_RSA_WITH_CAMELLIA_256_CBC_SHA384", kx::ecdh, au::rsa, ci::camellia_cbc, ma::sha384, 256, 0x0303, false},
    {0xC07A, "TLS_RSA_WITH_CAMELLIA_128_GCM_SHA256", kx::rsa, au::rsa, ci::camellia_gcm, ma::aead, 128, 0x0303, false},
    {0xC07B, "TLS_RSA_WITH_CAMELLIA_256_GCM_SHA384", kx::rsa, au::rsa, ci::camellia_gcm, ma::aead, 256, 0x0303, false},
    {0xC07C, "TLS_DHE_RSA_WITH_CAMELLIA_128_GCM_SHA256", kx::dhe, au::rsa, ci::camellia_gcm, ma::aead, 128, 0x0303, false},
    {0xC07D, "TLS_DHE_RSA_WITH_CAMELLIA_256_GCM_SHA384", kx::dhe, au::rsa, ci::camellia_gcm, ma::aead, 256, 0x0303, false},
    {0xC07E, "TLS_DH_RSA_WITH_CAMELLIA_128_GCM_SHA256", kx::dh, au::rsa, ci::camellia_gcm, ma::aead, 128, 0x0303, false},
    {0xC07F, "TLS_DH_RSA_WITH_CAMELLIA_256_GCM_SHA384", kx::dh, au::rsa, ci::camellia_gcm, ma::aead, 256, 0x0303, false},
    {0xC080, "TLS_DHE_DSS_WITH_CAMELLIA_128_GCM_SHA256", kx::dhe, au::dss, ci::camellia_gcm, ma::aead, 128, 0x0303, false},
    {0xC081, "TLS_DHE_DSS_WITH_CAMELLIA_256_GCM_SHA384", kx::dhe, au::dss, ci::camellia_gcm, ma::aead, 256, 0x0303, false},
    {0xC082, "TLS_DH_DSS_WITH_CAMELLIA_128_GCM_SHA256", kx::dh, au::dss, ci::camellia_gcm, ma::aead, 128, 0x0303, false},
    {0xC083, "TLS_DH_DSS_WITH_CAMELLIA_256_GCM_SHA384", kx::dh, au::dss, ci::camellia_gcm, ma::aead, 256, 0x0303, false},
    {0xC084, "TLS_DH_anon_WITH_CAMELLIA_128_GCM_SHA256", kx::dh_anon, au::anon, ci::camellia_gcm, ma::aead, 128, 0x0303, false},
    {0xC085, "TLS_DH_anon_WITH_CAMELLIA_256_GCM_SHA384", kx::dh_anon, au::anon, ci::camellia_gcm, ma::aead, 256, 0x0303, false},
    {0xC086, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_GCM_SHA256", kx::ecdhe, au::ecdsa, ci::camellia_gcm, ma::aead, 128, 0x0303, false},
    {0xC087, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_GCM_SHA384", kx::ecdhe, au::ecdsa, ci::camellia_gcm, ma::aead, 256, 0x0303, false},
    {0xC088, "TLS_ECDH_ECDSA_WITH_CAMELLIA_128_GCM_SHA256", kx::ecdh, au::ecdsa, ci::camellia_gcm, ma::aead, 128, 0x0303, false},
    {0xC089, "TLS_ECDH_ECDSA_WITH_CAMELLIA_256_GCM_SHA384", kx::ecdh, au::ecdsa, ci::camellia_gcm, ma::aead, 256, 0x0303, false},
    {0xC08A, "TLS_ECDHE_RSA_WITH_CAMELLIA_128_GCM_SHA256", kx::ecdhe, au::rsa, ci::camellia_gcm, ma::aead, 128, 0x0303, false},
    {0xC08B, "TLS_ECDHE_RSA_WITH_CAMELLIA_256_GCM_SHA384", kx::ecdhe, au::rsa, ci::camellia_gcm, ma::aead, 256, 0x0303, false},
    {0xC08C, "TLS_ECDH_RSA_WITH_CAMELLIA_128_GCM_SHA256", kx::ecdh, au::rsa, ci::camellia_gcm, ma::aead, 128, 0x0303, false},
    {0xC08D, "TLS_ECDH_RSA_WITH_CAMELLIA_256_GCM_SHA384", kx::ecdh, au::rsa, ci::camellia_gcm, ma::aead, 256, 0x0303, false},
    {0xC08E, "TLS_PSK_WITH_CAMELLIA_128_GCM_SHA256", kx::psk, au::psk, ci::camellia_gcm, ma::aead, 128, 0x0303, false},
    {0xC08F, "TLS_PSK_WITH_CAMELLIA_256_GCM_SHA384", kx::psk, au::psk, ci::camellia_gcm, ma::aead, 256, 0x0303, false},
    {0xC090, "TLS_DHE_PSK_WITH_CAMELLIA_128_GCM_SHA256", kx::dhe_psk, au::psk, ci::camellia_gcm, ma::aead, 128, 0x0303, false},
    {0xC091, "TLS_DHE_PSK_WITH_CAMELLIA_256_GCM_SHA384", kx::dhe_psk, au::psk, ci::camellia_gcm, ma::aead, 256, 0x0303, false},
    {0xC092, "TLS_RSA_PSK_WITH_CAMELLIA_128_GCM_SHA256", kx::rsa_psk, au::rsa, ci::camellia_gcm, ma::aead, 128, 0x0303, false},
    {0xC093, "TLS_RSA_PSK_WITH_CAMELLIA_256_GCM_SHA384", kx::rsa_psk, au::rsa, ci::camellia_gcm, ma::aead, 256, 0x0303, false},
    {0xC094, "TLS_PSK_WITH_CAMELLIA_128_CBC_SHA256", kx::psk, au::psk, ci::camellia_cbc, ma::sha256, 128, 0x0301, false},
    {0xC095, "TLS_PSK_WITH_CAMELLIA_256_CBC_SHA384", kx::psk, au::psk, ci::camellia_cbc, ma::sha384, 256, 0x0301, false},
    {0xC096, "TLS_DHE_PSK_WITH_CAMELLIA_128_CBC_SHA256", kx::dhe_psk, au::psk, ci::camellia_cbc, ma::sha256, 128, 0x0301, false},
    {0xC097, "TLS_DHE_PSK_WITH_CAMELLIA_256_CBC_SHA384", kx::dhe_psk, au::psk, ci::camellia_cbc, ma::sha384, 256, 0x0301, false},
    {0xC098, "TLS_RSA_PSK_WITH_CAMELLIA_128_CBC_SHA256", kx::rsa_psk, au::rsa, ci::camellia_cbc, ma::sha256, 128, 0x0301, false},
    {0xC099, "TLS_RSA_PSK_WITH_CAMELLIA_256_CBC_SHA384", kx::rsa_psk, au::rsa, ci::camellia_cbc, ma::sha384, 256, 0x0301, false},
    {0xC09A, "TLS_ECDHE_PSK_WITH_CAMELLIA_128_CBC_SHA256", kx::ecdhe_psk, au::psk, ci::camellia_cbc, ma::sha256, 128, 0x0301, false},
    {0xC09B, "TLS_ECDHE_PSK_WITH_CAMELLIA_256_CBC_SHA384", kx::ecdhe_psk, au::psk, ci::camellia_cbc, ma::sha384, 256, 0x0301, false},
    {0xC09C, "TLS_RSA_WITH_AES_128_CCM", kx::rsa, au::rsa, ci::aes_ccm, ma::aead, 128, 0x0303, false},
    {0xC09D, "TLS_RSA_WITH_AES_256_CCM", kx::rsa, au::rsa, ci::aes_ccm, ma::aead, 256, 0x0303, false},
    {0xC09E, "TLS_DHE_RSA_WITH_AES_128_CCM", kx::dhe, au::rsa, ci::aes_ccm, ma::aead, 128, 0x0303, false},
    {0xC09F, "TLS_DHE_RSA_WITH_AES_256_CCM", kx::dhe, au::rsa, ci::aes_ccm, ma::aead, 256, 0x0303, false},
    {0xC0A0, "TLS_RSA_WITH_AES_128_CCM_8", kx::rsa, au::rsa, ci::aes_ccm_8, ma::aead, 128, 0x0303, false},
    {0xC0A1, "TLS_RSA_WITH_AES_256_CCM_8", kx::rsa, au::rsa, ci::aes_ccm_8, ma::aead, 256, 0x0303, false},
    {0xC0A2, "TLS_DHE_RSA_WITH_AES_128_CCM_8", kx::dhe, au::rsa, ci::aes_ccm_8, ma::aead, 128, 0x0303, false},
    {0xC0A3, "TLS_DHE_RSA_WITH_AES_256_CCM_8", kx::dhe, au::rsa, ci::aes_ccm_8, ma::aead, 256, 0x0303, false},
    {0xC0A4, "TLS_PSK_WITH_AES_128_CCM", kx::psk, au::psk, ci::aes_ccm, ma::aead, 128, 0x0303, false},
    {0xC0A5, "TLS_PSK_WITH_AES_256_CCM", kx::psk, au::psk, ci::aes_ccm, ma::aead, 256, 0x0303, false},
    {0xC0A6, "TLS_DHE_PSK_WITH_AES_128_CCM", kx::dhe_psk, au::psk, ci::aes_ccm, ma::aead, 128, 0x0303, false},
    {0xC0A7, "TLS_DHE_PSK_WITH_AES_256_CCM", kx::dhe_psk, au::psk, ci::aes_ccm, ma::aead, 256, 0x0303, false},
    {0xC0A8, "TLS_PSK_WITH_AES_128_CCM_8", kx::psk, au::psk, ci::aes_ccm_8, ma::aead, 128, 0x0303, false},
    {0xC0A9, "TLS_PSK_WITH_AES_256_CCM_8", kx::psk, au::psk, ci::aes_ccm_8, ma::aead, 256, 0x0303, false},
    {0xC0AA, "TLS_PSK_DHE_WITH_AES_128_CCM_8", kx::dhe_psk, au::psk, ci::aes_ccm_8, ma::aead, 128, 0x0303, false},
    {0xC0AB, "TLS_PSK_DHE_WITH_AES_256_CCM_8", kx::dhe_psk, au::psk, ci::aes_ccm_8, ma::aead, 256, 0x0303, false},
    {0xC0AC, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM", kx::ecdhe, au::ecdsa, ci::aes_ccm, ma::aead, 128, 0x0303, false},
    {0xC0AD, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM", kx::ecdhe, au::ecdsa, ci::aes_ccm, ma::aead, 256, 0x0303, false},
    {0xC0AE, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8", kx::ecdhe, au::ecdsa, ci::aes_ccm_8, ma::aead, 128, 0x0303, false},
    {0xC0AF, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8", kx::ecdhe, au::ecdsa, ci::aes_ccm_8, ma::aead, 256, 0x0303, false},
    {0xC0B4, "TLS_SHA256_SHA256", kx::any, au::any, ci::null, ma::sha256, 0, 0x0304, false},
    {0xC0B5, "TLS_SHA384_SHA384", kx::any, au::any, ci::null, ma::sha384, 0, 0x0304, false},
    // 0xCC13-0xCC15: pre-RFC 7905 ChaCha20 code points, answered by some 2014-2016 servers.
    {0xCC13, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256_OLD", kx::ecdhe, au::rsa, ci::chacha20_poly1305, ma::aead, 256, 0x0303, false},
    {0xCC14, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256_OLD", kx::ecdhe, au::ecdsa, ci::chacha20_poly1305, ma::aead, 256, 0x0303, false},
    {0xCC15, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256_OLD", kx::dhe, au::rsa, ci::chacha20_poly1305, ma::aead, 256, 0x0303, false},
    {0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", kx::ecdhe, au::rsa, ci::chacha20_poly1305, ma::aead, 256, 0x0303, false},
    {0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", kx::ecdhe, au::ecdsa, ci::chacha20_poly1305, ma::aead, 256, 0x0303, false},
    {0xCCAA, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", kx::dhe, au::rsa, ci::chacha20_poly1305, ma::aead, 256, 0x0303, false},
    {0xCCAB, "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256", kx::psk, au::psk, ci::chacha20_poly1305, ma::aead, 256, 0x0303, false},
    {0xCCAC, "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256", kx::ecdhe_psk, au::psk, ci::chacha20_poly1305, ma::aead, 256, 0x0303, false},
    {0xCCAD, "TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256", kx::dhe_psk, au::psk, ci::chacha20_poly1305, ma::aead, 256, 0x0303, false},
    {0xCCAE, "TLS_RSA_PSK_WITH_CHACHA20_POLY1305_SHA256", kx::rsa_psk, au::rsa, ci::chacha20_poly1305, ma::aead, 256, 0x0303, false},
    {0xD001, "TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256", kx::ecdhe_psk, au::psk, ci::aes_gcm, ma::aead, 128, 0x0303, false},
    {0xD002, "TLS_ECDHE_PSK_WITH_AES_256_GCM_SHA384", kx::ecdhe_psk, au::psk, ci::aes_gcm, ma::aead, 256, 0x0303, false},
    {0xD003, "TLS_ECDHE_PSK_WITH_AES_128_CCM_8_SHA256", kx::ecdhe_psk, au::psk, ci::aes_ccm_8, ma::aead, 128, 0x0303, false},
    {0xD005, "TLS_ECDHE_PSK_WITH_AES_128_CCM_SHA256", kx::ecdhe_psk, au::psk, ci::aes_ccm, ma::aead, 128, 0x0303, false},
};
// clang-format on

constexpr named_group_info group_table[] = {
    {0x0001, "sect163k1", group_kind::ec_binary, 163},
    {0x0002, "sect163r1", group_kind::ec_binary, 163},
    {0x0003, "sect163r2", group_kind::ec_binary, 163},
    {0x0004, "sect193r1", group_kind::ec_binary, 193},
    {0x0005, "sect193r2", group_kind::ec_binary, 193},
    {0x0006, "sect233k1", group_kind::ec_binary, 233},
    {0x0007, "sect233r1", group_kind::ec_binary, 233},
    {0x0008, "sect239k1", group_kind::ec_binary, 239},
    {0x0009, "sect283k1", group_kind::ec_binary, 283},
    {0x000A, "sect283r1", group_kind::ec_binary, 283},
    {0x000B, "sect409k1", group_kind::ec_binary, 409},
    {0x000C, "sect409r1", group_kind::ec_binary, 409},
    {0x000D, "sect571k1", group_kind::ec_binary, 571},
    {0x000E, "sect571r1", group_kind::ec_binary, 571},
    {0x000F, "secp160k1", group_kind::ec_prime, 160},
    {0x0010, "secp160r1", group_kind::ec_prime, 160},
    {0x0011, "secp160r2", group_kind::ec_prime, 160},
    {0x0012, "secp192k1", group_kind::ec_prime, 192},
    {0x0013, "secp192r1", group_kind::ec_prime, 192},
    {0x0014, "secp224k1", group_kind::ec_prime, 224},
    {0x0015, "secp224r1", group_kind::ec_prime, 224},
    {0x0016, "secp256k1", group_kind::ec_prime, 256},
    {0x0017, "secp256r1", group_kind::ec_prime, 256},
    {0x0018, "secp384r1", group_kind::ec_prime, 384},
    {0x0019, "secp521r1", group_kind::ec_prime, 521},
    {0x001A, "brainpoolP256r1", group_kind::ec_prime, 256},
    {0x001B, "brainpoolP384r1", group_kind::ec_prime, 384},
    {0x001C, "brainpoolP512r1", group_kind::ec_prime, 512},
    {0x001D, "x25519", group_kind::montgomery, 255},
    {0x001E, "x448", group_kind::montgomery, 448},
    {0x001F, "brainpoolP256r1tls13", group_kind::ec_prime, 256},
    {0x0020, "brainpoolP384r1tls13", group_kind::ec_prime, 384},
    {0x0021, "brainpoolP512r1tls13", group_kind::ec_prime, 512},
    {0x0022, "GC256A", group_kind::ec_prime, 256},
    {0x0023, "GC256B", group_kind::ec_prime, 256},
    {0x0024, "GC256C", group_kind::ec_prime, 256},
    {0x0025, "GC256D", group_kind::ec_prime, 256},
    {0x0026, "GC512A", group_kind::ec_prime, 512},
    {0x0027, "GC512B", group_kind::ec_prime, 512},
    {0x0028, "GC512C", group_kind::ec_prime, 512},
    {0x0029, "curveSM2", group_kind::ec_prime, 256},
    {0x0100, "ffdhe2048", group_kind::ffdhe, 2048},
    {0x0101, "ffdhe3072", group_kind::ffdhe, 3072},
    {0x0102, "ffdhe4096", group_kind::ffdhe, 4096},
    {0x0103, "ffdhe6144", group_kind::ffdhe, 6144},
    {0x0104, "ffdhe8192", group_kind::ffdhe, 8192},
    {0x0200, "MLKEM512", group_kind::hybrid_pq, 0},
    {0x0201, "MLKEM768", group_kind::hybrid_pq, 0},
    {0x0202, "MLKEM1024", group_kind::hybrid_pq, 0},
    {0x11EB, "SecP256r1MLKEM768", group_kind::hybrid_pq, 256},
    {0x11EC, "X25519MLKEM768", group_kind::hybrid_pq, 255},
    {0x11ED, "SecP384r1MLKEM1024", group_kind::hybrid_pq, 384},
    {0x6399, "X25519Kyber768Draft00", group_kind::hybrid_pq, 255},
    {0x639A, "SecP256r1Kyber768Draft00", group_kind::hybrid_pq, 256},
    {0xFF01, "arbitrary_explicit_prime_curves", group_kind::other, 0},
    {0xFF02, "arbitrary_explicit_char2_curves", group_kind::other, 0},
};

// TLS 1.2 hash/signature pairs without an IANA SignatureScheme name use OpenSSL's spelling, so
// that a report reads the same as `openssl s_client` output.
constexpr signature_scheme_info scheme_table[] = {
    {0x0101, "rsa_pkcs1_md5", true},
    {0x0102, "dsa_md5", true},
    {0x0103, "ecdsa_md5", true},
    {0x0201, "rsa_pkcs1_sha1", true},
    {0x0202, "dsa_sha1", true},
    {0x0203, "ecdsa_sha1", true},
    {0x0301, "rsa_pkcs1_sha224", true},
    {0x0302, "dsa_sha224", true},
    {0x0303, "ecdsa_sha224", true},
    {0x0401, "rsa_pkcs1_sha256", false},
    {0x0402, "dsa_sha256", false},
    {0x0403, "ecdsa_secp256r1_sha256", false},
    {0x0501, "rsa_pkcs1_sha384", false},
    {0x0502, "dsa_sha384", false},
    {0x0503, "ecdsa_secp384r1_sha384", false},
    {0x0601, "rsa_pkcs1_sha512", false},
    {0x0602, "dsa_sha512", false},
    {0x0603, "ecdsa_secp521r1_sha512", false},
    {0x0708, "ecdsa_sm2sm3", false},
    {0x0804, "rsa_pss_rsae_sha256", false},
    {0x0805, "rsa_pss_rsae_sha384", false},
    {0x0806, "rsa_pss_rsae_sha512", false},
    {0x0807, "ed25519", false},
    {0x0808, "ed448", false},
    {0x0809, "rsa_pss_pss_sha256", false},
    {0x080A, "rsa_pss_pss_sha384", false},
    {0x080B, "rsa_pss_pss_sha512", false},
    {0x081A, "ecdsa_brainpoolP256r1tls13_sha256", false},
    {0x081B, "ecdsa_brainpoolP384r1tls13_sha384", false},
    {0x081C, "ecdsa_brainpoolP512r1tls13_sha512", false},
    {0x0904, "mldsa44", false},
    {0x0905, "mldsa65", false},
    {0x0906, "mldsa87", false},
};

std::string hex_code(std::uint16_t code) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04X", static_cast<unsigned>(code));
  return buf;
}

template <class T, std::size_t N>
const T* by_code(const T (&table)[N], std::uint16_t code) noexcept {
  const T* end = table + N;
  const T* it = std::lower_bound(table, end, code, [](const T& e, std::uint16_t c) { return e.code < c; });
  return it != end && it->code == code ? it : nullptr;
}

template <class T, std::size_t N>
const T* by_name(const T (&table)[N], std::string_view name) noexcept {
  // Linear: a few hundred short comparisons, only on user input.
  for (const T& e : table)
    if (e.name == name) return &e;
  return nullptr;
}

}  // namespace

std::string version_name(std::uint16_t v) {
  switch (v) {
    case version::ssl3:
      return "SSLv3";
    case version::tls1_0:
      return "TLSv1.0";
    case version::tls1_1:
      return "TLSv1.1";
    case version::tls1_2:
      return "TLSv1.2";
    case version::tls1_3:
      return "TLSv1.3";
    default:
      return hex_code(v);
  }
}

bool cipher_suite_info::forward_secret() const noexcept {
  switch (kx) {
    case key_exchange::any:
    case key_exchange::dhe:
    case key_exchange::ecdhe:
    case key_exchange::dh_anon:
    case key_exchange::ecdh_anon:
    case key_exchange::dhe_psk:
    case key_exchange::ecdhe_psk:
      return true;
    default:
      return false;
  }
}

bool cipher_suite_info::usable_with(std::uint16_t v) const noexcept {
  if (tls13()) return v == version::tls1_3;
  return v >= min_version && v <= version::tls1_2;
}

std::span<const cipher_suite_info> cipher_suites() noexcept { return suite_table; }
const cipher_suite_info* find_cipher_suite(std::uint16_t code) noexcept { return by_code(suite_table, code); }
const cipher_suite_info* find_cipher_suite(std::string_view name) noexcept {
  return by_name(suite_table, name);
}
std::string cipher_suite_name(std::uint16_t code) {
  const auto* s = find_cipher_suite(code);
  return s ? std::string(s->name) : hex_code(code);
}

std::span<const named_group_info> named_groups() noexcept { return group_table; }
const named_group_info* find_named_group(std::uint16_t code) noexcept { return by_code(group_table, code); }
const named_group_info* find_named_group(std::string_view name) noexcept {
  return by_name(group_table, name);
}
std::string named_group_name(std::uint16_t code) {
  const auto* g = find_named_group(code);
  return g ? std::string(g->name) : hex_code(code);
}

std::span<const signature_scheme_info> signature_schemes() noexcept { return scheme_table; }
const signature_scheme_info* find_signature_scheme(std::uint16_t code) noexcept {
  return by_code(scheme_table, code);
}
const signature_scheme_info* find_signature_scheme(std::string_view name) noexcept {
  return by_name(scheme_table, name);
}
std::string signature_scheme_name(std::uint16_t code) {
  const auto* s = find_signature_scheme(code);
  return s ? std::string(s->name) : hex_code(code);
}

}  // namespace postern::probe::wire
