// TLS failures, against `openssl s_server` on 127.0.0.1 with a certificate
// the test makes: an unknown certificate fails with a message that says how
// to point SSL_CERT_FILE / CURL_CA_BUNDLE at the right CA (and never suggests
// turning verification off), and CURL_CA_BUNDLE is honoured.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "support.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/process.hpp"

namespace tito::data {
namespace {

using namespace std::chrono_literals;

bool accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

class Tls : public ::testing::Test {
 protected:
  void SetUp() override {
    // scripts/deps installs it: a missing openssl is a broken setup, not a reason to pass.
    ASSERT_TRUE(find_program("openssl")) << "the openssl command is not installed (run scripts/deps)";
    ProcessResult cert = run_process({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                                      "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
                                      (tmp.path() / "key.pem").string(), "-out", (tmp.path() / "cert.pem").string()});
    ASSERT_TRUE(cert.ok()) << cert.output;
    port = testing::unused_loopback_port();
    server = ::fork();
    if (server == 0) {
      ::freopen("/dev/null", "w", stdout);
      ::freopen("/dev/null", "w", stderr);
      std::string accept = "127.0.0.1:" + std::to_string(port);
      ::execlp("openssl", "openssl", "s_server", "-quiet", "-www", "-accept", accept.c_str(), "-cert",
               (tmp.path() / "cert.pem").c_str(), "-key", (tmp.path() / "key.pem").c_str(), nullptr);
      ::_exit(127);
    }
    auto until = std::chrono::steady_clock::now() + 10s;
    while (!accepts(port) && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(20ms);
    ASSERT_TRUE(accepts(port)) << "openssl s_server did not start";

    nlohmann::json r = {{"datasets",
                         {{"blob",
                           {{"title", "Random bytes"},
                            {"mirrors", {"https://127.0.0.1:" + std::to_string(port) + "/"}},
                            {"files", {{{"name", "blob.bin"}, {"size", 1000}, {"sha256", sha256_hex("x")}}}},
                            {"dir", "files"}}}}}};
    write_file_atomic(tmp.path() / "registry.json", r.dump(2));
  }
  void TearDown() override {
    if (server > 0) {
      ::kill(server, SIGTERM);
      ::waitpid(server, nullptr, 0);
    }
  }
  ProcessResult fetch(std::map<std::string, std::string> env) {
    env["TITO_REGISTRY"] = (tmp.path() / "registry.json").string();
    env["TITO_DATA_DIR"] = (tmp.path() / "cache").string();
    env["TITO_FETCH_BACKOFF_MS"] = "10";
    ProcessOptions options;
    options.env = env;
    options.cwd = tmp.path();
    return run_process({TITO_BINARY, "data", "fetch", "blob"}, options);
  }

  TempDir tmp{"tito-tls-test"};
  int port = 0;
  pid_t server = -1;
};

TEST_F(Tls, AnUnknownCertificateSaysHowToTrustItAndNeverToSkipVerification) {
  ProcessResult r = fetch({{"CURL_CA_BUNDLE", ""}, {"SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt"}});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("error: cannot download blob.bin: the only mirror failed:\n  https://127.0.0.1:"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("The TLS certificate could not be verified: if a proxy or firewall inspects HTTPS, point "
                          "SSL_CERT_FILE (or CURL_CA_BUNDLE) at its CA certificate bundle and run again."),
            std::string::npos)
      << r.output;
  for (const char* bad : {"--insecure", " -k", "verify=false", "VERIFYPEER", "disable"}) {
    EXPECT_EQ(r.output.find(bad), std::string::npos) << bad << " in: " << r.output;
  }
  EXPECT_FALSE(fs::exists(tmp.path() / "cache" / "blob" / "files"));
}

TEST_F(Tls, CurlCaBundleIsHonoured) {
  // Trusting the test's certificate, TLS succeeds; the server's status page
  // (about 5 kB) is not the 1,000-byte file, so the download then fails on
  // its size, not on TLS, and stops at the size the registry gives.
  ProcessResult r = fetch({{"CURL_CA_BUNDLE", (tmp.path() / "cert.pem").string()}});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(r.output.find("TLS certificate could not be verified"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("/blob.bin: the server sent more than the registry's 1000 bytes: not the expected file; "
                          "the download was deleted"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(tmp.path() / "cache" / "blob" / "downloads" / "blob.bin"));
}

}  // namespace
}  // namespace tito::data
