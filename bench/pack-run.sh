#!/bin/sh
# @BUILT@.
# Runs the packed webgpu-attention bench on this machine: ./run.sh [--quick] [--info] [bench options]
# (the options of npm run bench; see the project's README, "Benchmarks"). Needs no Node: the pack
# carries one. The report goes to stdout, everything else to stderr.
#
#   1. unpacks the pack once into ${TMPDIR:-/tmp}/webgpu-attention-bench-<uid>-<pack id> (the Node
#      binary, Dawn and ORT's wasm travel gzip-compressed), or into $WEBGPU_ATTENTION_BENCH_CACHE;
#   2. takes the Vulkan driver from VK_ICD_FILENAMES / VK_DRIVER_FILES, else NVIDIA's ICD where
#      installed, else leaves it to the loader's search; the carried Vulkan loader comes first;
#   3. where `python3 -c "import torch"` works with CUDA, times PyTorch's scaled_dot_product_attention
#      on the same shapes (torch-sdpa.py) for the report's "native ceiling";
#   4. runs the bench, with --time-cap-s (no new part or length after it: 180 s with --quick, else
#      3600 s, or $WEBGPU_ATTENTION_BENCH_CAP_S) unless one is given.
# Environment: WEBGPU_ATTENTION_PEAK_GFLOPS / _PEAK_GBPS (the device's peak), WEBGPU_ATTENTION_TORCH=0
# (skip PyTorch), WEBGPU_ATTENTION_PYTHON (default python3), WEBGPU_ATTENTION_TORCH_DEVICE=cpu (test
# the PyTorch script without a GPU).
set -u
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
pack_id=@PACK_ID@
packed="@PACKED@"
say() { echo "run.sh: $*" >&2; }
has_arg() { case " $args " in *" $1 "*) return 0 ;; esac; return 1; }
args=" $* "

# 1. Unpack into a folder of this user's; a partial unpack is built aside and moved in when complete.
cache=${WEBGPU_ATTENTION_BENCH_CACHE:-${TMPDIR:-/tmp}/webgpu-attention-bench-$(id -u)-$pack_id}
if [ -e "$cache" ] && [ ! -O "$cache" ]; then
  say "$cache belongs to another user; set WEBGPU_ATTENTION_BENCH_CACHE to a folder of yours"
  exit 1
fi
if [ ! -f "$cache/.unpacked" ]; then
  say "unpacking into $cache (once per pack, about 145 MiB)"
  rm -rf "$cache"
  tmp="$cache.partial.$$"
  (umask 077 && mkdir -p "$tmp") && cp -R "$here/." "$tmp/" || exit 1
  for f in $packed; do
    if ! gzip -d "$tmp/$f.gz"; then
      say "could not unpack $f (disk full? set TMPDIR or WEBGPU_ATTENTION_BENCH_CACHE)"
      rm -rf "$tmp"
      exit 1
    fi
  done
  chmod 755 "$tmp/bin/node"
  : >"$tmp/.unpacked"
  # Another run may have unpacked the same pack meanwhile: then keep its folder.
  if ! mv -T "$tmp" "$cache" 2>/dev/null; then
    if [ -f "$cache/.unpacked" ]; then
      rm -rf "$tmp"
    elif [ -e "$cache" ] || ! mv "$tmp" "$cache"; then
      say "could not move $tmp to $cache"
      exit 1
    fi
  fi
fi
node="$cache/bin/node"
if ! node_version=$("$node" --version 2>&1); then
  say "the carried Node does not start here (it needs x86-64 Linux, glibc >= 2.28 and libstdc++): $node_version"
  exit 1
fi

# 2. Vulkan: the carried loader first, then the driver.
export LD_LIBRARY_PATH="$cache/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if [ -z "${VK_ICD_FILENAMES:-}" ] && [ -z "${VK_DRIVER_FILES:-}" ]; then
  for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json \
    /etc/vulkan/icd.d/nvidia_icd.json; do
    if [ -f "$icd" ]; then
      export VK_ICD_FILENAMES="$icd"
      break
    fi
  done
fi
icd=${VK_ICD_FILENAMES:-${VK_DRIVER_FILES:-}}
case "$icd" in
/usr/local/nvidia/*)
  # GPU containers mount the driver's libraries here; the ICD names them without a folder.
  for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
    [ -d "$d" ] && LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$d"
  done
  ;;
esac
driver_note=""
if [ -n "$icd" ] && [ -f "${icd%%:*}" ]; then
  lib=$(sed -n 's/.*"library_path"[^"]*"\([^"]*\)".*/\1/p' "${icd%%:*}" | head -n 1)
  found=""
  case "$lib" in
  /*) [ -f "$lib" ] && found=$lib ;;
  */*) [ -f "$(dirname -- "${icd%%:*}")/$lib" ] && found="next to the ICD file" ;;
  ?*)
    for d in $(echo "$LD_LIBRARY_PATH" | tr ':' ' ') /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /lib/x86_64-linux-gnu; do
      if [ -f "$d/$lib" ]; then
        found="$d/$lib"
        break
      fi
    done
    [ -z "$found" ] && (/sbin/ldconfig -p 2>/dev/null || ldconfig -p 2>/dev/null) | grep -q "$lib" && found="(ldconfig)"
    ;;
  esac
  if [ -n "$found" ]; then
    driver_note="driver $lib: $found"
  else
    driver_note="driver $lib: NOT FOUND, Dawn may find no adapter"
    case "$lib" in
    *nvidia*) driver_note="$driver_note (in a container, NVIDIA_DRIVER_CAPABILITIES must include graphics)" ;;
    esac
  fi
fi
say "Node $node_version from $cache; VK_ICD_FILENAMES=${icd:-(unset: the loader's search)}${driver_note:+; $driver_note}"
# run.sh has set the library path; the bench need not start itself again to set its own.
export WEBGPU_ATTENTION_RELAUNCHED=1

# 3. The native ceiling: PyTorch's SDPA on the same shapes, where torch has CUDA.
python=${WEBGPU_ATTENTION_PYTHON:-python3}
torch_device=${WEBGPU_ATTENTION_TORCH_DEVICE:-cuda}
probe="import torch; assert '$torch_device' == 'cpu' or torch.cuda.is_available(), 'torch.cuda.is_available() is False'; print(torch.__version__)"
native_json=""
note=""
if [ "${WEBGPU_ATTENTION_TORCH:-1}" = 0 ]; then
  note="skipped (WEBGPU_ATTENTION_TORCH=0)"
elif ! command -v "$python" >/dev/null 2>&1; then
  note="no $python here, so no PyTorch"
elif ! out=$("$python" -c "$probe" 2>&1); then
  note="$python has no PyTorch with CUDA ($(echo "$out" | tail -n 1))"
elif has_arg --info; then
  note="PyTorch $out on $torch_device found (not timed with --info)"
else
  native_json=$(mktemp "${TMPDIR:-/tmp}/webgpu-attention-torch.XXXXXX") || exit 1
  say "timing PyTorch's scaled_dot_product_attention ($torch_device)"
  if "$python" "$cache/torch-sdpa.py" --out "$native_json" --device "$torch_device" "$@" >&2; then
    set -- "$@" --native-ceiling "$native_json"
  else
    note="torch-sdpa.py failed (exit $?; its messages are above, on stderr)"
  fi
fi
[ -n "$note" ] && set -- "$@" --native-ceiling-note "$note"

# 4. The bench, with a time cap unless one was given (and a hard stop well past it).
if ! has_arg --time-cap-s; then
  if has_arg --quick; then cap=${WEBGPU_ATTENTION_BENCH_CAP_S:-180}; else cap=${WEBGPU_ATTENTION_BENCH_CAP_S:-3600}; fi
  set -- "$@" --time-cap-s "$cap"
else
  cap=3600
fi
case "$cap" in '' | *[!0-9]*) hard=11400 ;; *) hard=$((cap * 3 + 600)) ;; esac
stop=""
command -v timeout >/dev/null 2>&1 && stop="timeout --kill-after=30 $hard"
$stop "$node" "$cache/bench.mjs" "$@"
status=$?
[ -n "$native_json" ] && rm -f "$native_json"
[ "$status" = 124 ] && say "stopped after $hard s (3 × the time cap + 10 minutes)"
exit "$status"
