// The service objects of the admin API (service/) on a test store, with one platform, "plain"
// (authorize URL at idp.example, codes exchanged for a fixed token, refreshes that fail), for
// tests of http/ that drive AdminHandlers.
#pragma once

#include <memory>

#include "http/admin_services.hpp"

namespace mediax {
class Store;
}

namespace mediax::test {

class AdminServicesForTest {
 public:
  explicit AdminServicesForTest(Store& store);
  ~AdminServicesForTest();
  AdminServicesForTest(const AdminServicesForTest&) = delete;
  AdminServicesForTest& operator=(const AdminServicesForTest&) = delete;

  AdminServices services();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mediax::test
