#!/usr/bin/env bash
# The main job, from a fresh machine: set up, build `ddrm`, then package a generated sample
# (5 s of 640x360 video with a 440 Hz tone), pin it to the content store, inspect it, fetch it
# back by CID and decrypt it with the creator's recovery key.
# Output goes to ./ddrm-demo (or $1); run it again and it starts that folder afresh.
set -euo pipefail
source "$(dirname "$0")/env.sh"
"$ROOT/scripts/setup.sh"
cd "$ROOT"
cargo build --locked --bin ddrm   # dev profile: dependencies are optimised (see Cargo.toml)
ddrm="$CARGO_TARGET_DIR/debug/ddrm"
out="$(realpath -m "${1:-$ROOT/ddrm-demo}")"
rm -rf "$out"; mkdir -p "$out"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "generate a sample clip (H.264 + AAC in MP4)"
ffmpeg -hide_banner -loglevel error -f lavfi -i testsrc2=duration=5:size=640x360:rate=24 \
  -f lavfi -i sine=f=440:d=5 -c:v libx264 -pix_fmt yuv420p -c:a aac -shortest "$out/sample.mp4"
ls -l "$out/sample.mp4"

step "licence network keys (dealer, 3-of-5)"
"$ddrm" licence keygen --nodes 5 --threshold 3 --out "$out/keys"

step "package: transcode to AV1, keep AAC, segment, encrypt, pin"
"$ddrm" package "$out/sample.mp4" --out "$out/sample.ddrm" --group-key "$out/keys/group.pub" \
  --title "Test pattern" --creator "ddrm demo" --export-key "$out/sample.key" \
  --pin --data-dir "$out/store" --json | tee "$out/package.json"
cid="$(sed -n 's/.*"cid": "\(.*\)".*/\1/p' "$out/package.json")"

step "inspect (no key needed)"
"$ddrm" inspect "$out/sample.ddrm"

step "fetch it back from the store by CID $cid"
"$ddrm" store cat "$cid" --data-dir "$out/store" > "$out/fetched.ddrm"
cmp "$out/sample.ddrm" "$out/fetched.ddrm" && echo "identical bytes"

step "decrypt with the creator's recovery key, remuxed to Matroska"
"$ddrm" decrypt "$out/fetched.ddrm" --content-key-file "$out/sample.key" --out "$out/sample.mkv"
ffprobe -hide_banner -loglevel error -show_entries stream=codec_name,width,height,sample_rate \
  -show_entries format=duration -of compact "$out/sample.mkv"
echo
echo "done: everything is in $out"
