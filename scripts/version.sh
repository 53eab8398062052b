# Sourced by scripts/package.sh and scripts/check_package.sh: mproc's
# release from common/version.h as $version, $major, $minor, and the shared
# libraries' ABI version $soversion (MAJOR.MINOR while MAJOR is 0, as
# packaging/BUILD sets it). Run from the repository root.
version=$(sed -n 's/.*kMprocVersion\[\] = "\(.*\)";/\1/p' common/version.h)
[[ -n $version ]] || { echo "no version in common/version.h" >&2; exit 1; }
major=${version%%.*}
minor=${version#*.}
minor=${minor%%.*}
if [[ $major == 0 ]]; then soversion=$major.$minor; else soversion=$major; fi
