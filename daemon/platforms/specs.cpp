#include "platforms/specs.hpp"

namespace mediax::specs {

std::vector<const spec::Spec*> all() { return {&douyin(), &kuaishou(), &tiktok(), &weibo(), &bilibili()}; }

}  // namespace mediax::specs
