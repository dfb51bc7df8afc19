// The platforms that are specs (platforms/spec.hpp), one file each: <name>_spec.cpp.
#pragma once

#include <vector>

#include "platforms/spec.hpp"

namespace mediax::specs {

const spec::Spec& bilibili();
const spec::Spec& douyin();
const spec::Spec& kuaishou();
const spec::Spec& tiktok();
const spec::Spec& weibo();

// Every platform spec, for the registry.
std::vector<const spec::Spec*> all();

}  // namespace mediax::specs
