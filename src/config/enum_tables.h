// The names of the option enums (src/core/enum_names.h): the one place
// each is spelled, for Name(), the Parse functions (enum_names.cc), presets,
// the command line and the docs.
#pragma once

#include "landmark/device.h"
#include "landmark/dtype.h"
#include "landmark/prefill.h"
#include "landmark/retriever.h"
#include "landmark/store.h"
#include "src/core/enum_names.h"

namespace landmark {

inline constexpr EnumName<Device> kDeviceNames[] = {
    {Device::kAuto, "auto"}, {Device::kCpu, "cpu"}, {Device::kCuda, "cuda"}};
inline constexpr EnumName<DType> kDTypeNames[] = {
    {DType::kF32, "f32"},     {DType::kF16, "f16"},     {DType::kBF16, "bf16"},
    {DType::kF32, "float32"}, {DType::kF16, "float16"}, {DType::kBF16, "bfloat16"}};
inline constexpr EnumName<LandmarkKind> kLandmarkKindNames[] = {
    {LandmarkKind::kLearned, "learned"}, {LandmarkKind::kMean, "mean"}, {LandmarkKind::kMinMax, "minmax"}};
inline constexpr EnumName<Fusion> kFusionNames[] = {{Fusion::kJoint, "joint"}, {Fusion::kHsa, "hsa"}};
inline constexpr EnumName<RetrievalWeights> kRetrievalWeightsNames[] = {
    {RetrievalWeights::kSoftmax, "softmax"}, {RetrievalWeights::kStickBreaking, "stickbreaking"}};
inline constexpr EnumName<GpuKv> kGpuKvNames[] = {
    {GpuKv::kAuto, "auto"}, {GpuKv::kResident, "resident"}, {GpuKv::kStream, "stream"}};
inline constexpr EnumName<PrefillPolicy> kPrefillPolicyNames[] = {
    {PrefillPolicy::kDense, "dense"}, {PrefillPolicy::kFlashPrefill, "flashprefill"}, {PrefillPolicy::kDma, "dma"}};
inline constexpr EnumName<FlashPrefillOptions::Threshold> kThresholdNames[] = {
    {FlashPrefillOptions::Threshold::kDelta, "delta"}, {FlashPrefillOptions::Threshold::kAlpha, "alpha"}};
inline constexpr EnumName<DmaOptions::Importance> kImportanceNames[] = {
    {DmaOptions::Importance::kValueNorm, "vnorm"},
    {DmaOptions::Importance::kPooledQK, "qk"},
    {DmaOptions::Importance::kLearned, "learned"}};

}  // namespace landmark
