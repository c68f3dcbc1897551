#!/usr/bin/env bash
# scripts/device-deps.sh [DIR]: downloads (here, with apt-get download; no
# root needed) the Debian packages landmark builds against, with their
# library dependencies, into DIR (default .dev/debs), for a machine that has
# a compiler, CMake, ninja and nvcc but none of the -dev packages (the GPU
# device machines). scripts/device-build.sh unpacks them there into a prefix
# inside the tree and builds. Base libraries every such machine has (glibc,
# libstdc++, libgcc) are left out: a second copy of them would break it.
set -euo pipefail
dir=${1:-.dev/debs}
mkdir -p "$dir"
roots=(libdnnl-dev libtbb-dev libhwy-dev doctest-dev libcli11-dev libfmt-dev nlohmann-json3-dev
       libxxhash-dev libmimalloc-dev ocl-icd-opencl-dev libtomlplusplus-dev libpcre2-dev libutf8proc-dev zlib1g-dev libsqlite3-dev libsqlite3-0 pkgconf pkgconf-bin libpkgconf3 libgomp1)
skip='^(libc6|libc6-dev|libgcc-s1|libstdc\+\+6|gcc-[0-9]+-base|libcrypt1|debconf|dpkg|perl-base|tar|libhwloc15|libudev1|libxml2|libicu[0-9]+|liblzma5|libzstd1|libbz2-1\.0|libselinux1|libsystemd0|libcap2|libgcrypt20|libgpg-error0|liblz4-1|libnuma1|libltdl7|libpciaccess0|libxnvctrl0|libexpat1|sensible-utils|debianutils|libcudart[0-9]*)$'
# Direct and transitive dependencies (no recommends/suggests), virtual ones dropped.
mapfile -t packages < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
                          --no-replaces --no-enhances "${roots[@]}" | grep -v '^ ' | grep -v '^<' | sort -u |
                        grep -Ev "$skip")
echo "downloading ${#packages[@]} packages into $dir: ${packages[*]}"
(cd "$dir" && apt-get download "${packages[@]}")
du -sh "$dir"
