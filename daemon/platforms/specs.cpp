#include "platforms/specs.hpp"

namespace mediax::specs {

std::vector<const spec::Spec*> all() { return {&douyin(), &kuaishou(), &tiktok(), &bilibili()}; }

}  // namespace mediax::specs
