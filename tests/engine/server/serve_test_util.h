// Copyright EMPI developers.
//
// serve_test_util.h: what the `empi serve` tests share: keys and a test CA
// made with the openssl command line at test time, JWTs signed with
// OpenSSL, and the real `empi serve` binary run as a child process.
#ifndef EMPI_TESTS_ENGINE_SERVER_SERVE_TEST_UTIL_H_
#define EMPI_TESTS_ENGINE_SERVER_SERVE_TEST_UTIL_H_

#include <openssl/pem.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "engine/server/jwt.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/engine/server/jws_sign.h"
#include "tests/temp_dir.h"

namespace empi::testing {

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs a shell command; false (with the command's output) if it fails.
inline ::testing::AssertionResult Sh(const std::string& cmd) {
  const std::string full = "(" + cmd + ") >/dev/null 2>&1";
  int status = std::system(full.c_str());
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "failed: " << cmd;
}

// Key material made once per test binary in `dir`:
//   rsa.key, ec.key        JWT signing keys (RSA 2048, EC P-256), trusted
//   stranger.key           an RSA key the server does not trust
//   jwt-keys.pem           the public halves of rsa.key and ec.key
//   ca.pem, server.pem/.key (SAN 127.0.0.1, localhost), client.pem/.key
//   (subject CN only), service.pem/.key (a service's identity: CN, O, a
//   role and a purpose in OUs; engine/server/client_cert.h)
struct Keys {
  std::string dir;
  std::string Path(const std::string& name) const { return dir + "/" + name; }
};

inline ::testing::AssertionResult MakeKeys(const std::string& dir) {
  const std::string d = "cd '" + dir + "' && ";
  for (const std::string cmd : {
           "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.key",
           "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.key",
           "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out stranger.key",
           "openssl pkey -in rsa.key -pubout -out rsa.pub && openssl pkey -in ec.key -pubout -out ec.pub && "
           "cat rsa.pub ec.pub > jwt-keys.pem",
           "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj '/CN=EMPI test CA'",
           "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj '/CN=localhost'",
           "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.ext && "
           "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 "
           "-extfile san.ext",
           "openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj '/CN=ed-viewer'",
           "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2",
           "openssl req -newkey rsa:2048 -nodes -keyout service.key -out service.csr "
           "-subj '/CN=ed-viewer/O=RKB/OU=clinician/OU=purpose:direct-care/OU=surgery'",
           "openssl x509 -req -in service.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out service.pem -days 2",
       }) {
    ::testing::AssertionResult r = Sh(d + cmd);
    if (!r) return r;
  }
  return ::testing::AssertionSuccess();
}

// A compact JWS over `claims`, signed with the PEM private key in
// `key_path`: RS256 for an RSA key, ES256 (raw r || s) for an EC key.
inline std::string SignJwt(const std::string& key_path, const nlohmann::json& claims,
                           const std::string& alg_override = "") {
  FILE* f = std::fopen(key_path.c_str(), "r");
  if (f == nullptr) return "";
  EVP_PKEY* key = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (key == nullptr) return "";
  const bool rsa = EVP_PKEY_base_id(key) == EVP_PKEY_RSA;
  const std::string alg = alg_override.empty() ? (rsa ? "RS256" : "ES256") : alg_override;
  std::string token = SignJws(key, nlohmann::json{{"alg", alg}, {"typ", "JWT"}}.dump(), claims.dump());
  EVP_PKEY_free(key);
  return token;
}

inline constexpr char kIssuer[] = "https://idp.test.empi";
inline constexpr char kAudience[] = "empi-service";

// Claims valid for an hour from now.
inline nlohmann::json Claims(const std::string& sub, const std::string& org, const std::string& purpose,
                             std::vector<std::string> roles) {
  const int64_t now = std::time(nullptr);
  return {{"iss", kIssuer}, {"aud", kAudience}, {"sub", sub},     {"org", org},       {"purpose", purpose},
          {"roles", roles}, {"iat", now},       {"nbf", now - 5}, {"exp", now + 3600}};
}

// A valid NHS number: nine digits and the modulus 11 check digit.
inline std::string NhsNumber(const std::string& nine) {
  int sum = 0;
  for (int i = 0; i < 9; ++i) sum += (nine[i] - '0') * (10 - i);
  int check = 11 - sum % 11;
  if (check == 11) check = 0;
  if (check == 10) return "";
  return nine + std::to_string(check);
}

// `empi serve` as a child process, its stderr in a file; Start waits for
// the "listening" log line and reads the port from it.
class ServeProcess {
 public:
  ~ServeProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  // Returns false if the server exited or did not listen within 20 s;
  // exit_code() then holds its exit code.
  bool Start(const std::vector<std::string>& args, const std::string& stderr_path) {
    stderr_path_ = stderr_path;
    const char* bin = std::getenv("EMPI_BINARY_DIR");
    if (bin == nullptr) return false;
    std::string empi = std::string(bin) + "/engine/cli/empi";
    std::vector<std::string> argv_s = {empi, "serve"};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    // A log left by an earlier server on this path would give its port
    // before the child truncates the file.
    std::remove(stderr_path.c_str());
    pid_ = ::fork();
    if (pid_ == 0) {
      std::FILE* err = std::freopen(stderr_path.c_str(), "w", stderr);
      if (err == nullptr) ::_exit(127);
      std::vector<char*> argv;
      for (std::string& a : argv_s) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    const std::regex port_re("\"port\":([0-9]+)");
    for (int i = 0; i < 400; ++i) {
      std::smatch m;
      const std::string log = ReadFile(stderr_path);
      if (std::regex_search(log, m, port_re)) {
        port_ = std::stoi(m[1].str());
        return true;
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  // SIGTERM, then waits; returns the exit code (-1 if killed by a signal).
  int Stop() {
    if (pid_ <= 0) return exit_code_;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return exit_code_;
  }

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  int exit_code() const { return exit_code_; }
  std::string log() const { return ReadFile(stderr_path_); }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  int exit_code_ = -1;
  std::string stderr_path_;
};

}  // namespace empi::testing

#endif  // EMPI_TESTS_ENGINE_SERVER_SERVE_TEST_UTIL_H_
