#!/bin/sh
# The figures of issue #13 (binary and ternary QAT), one run after the other (heavy: ~1 h on a loaded 2-core
# machine). Fashion-MNIST from /usr/share/datasets/fashion-mnist (60k train / 10k test), CIFAR-10 from
# ../shared/datasets/cifar10. Outputs and logs in ${OUT:-/tmp/bnn}. Run from the repository root:
#   nice -n 10 sh scripts/bnn-figures.sh [binary] [twin8] [ternary] [fp32] [cifar] [cifar-bin]   (default: all)
set -e
F=/usr/share/datasets/fashion-mnist; S=../shared; O=${OUT:-/tmp/bnn}; mkdir -p "$O"
Q="node bin/qwasm.mjs"
FM="--data $F/train-images-idx3-ubyte.gz --test $F/t10k-images-idx3-ubyte.gz"
STEPS="$*"
want() { [ -z "$STEPS" ] || echo " $STEPS " | grep -q " $1 "; }
run() { name=$1; shift; echo "== $name: qwasm $*"; date -u; $Q "$@" 2>&1 | grep -v '^epoch [0-9]*/[0-9]* \[' | tee "$O/$name.log"; }
# 1. binary W1A1 Bi-Real-style net (4 XNOR block convs; stem conv and dense 8-bit), 4 epochs
want binary && run fm_w1a1 train --arch fmnist-bireal --method xnor $FM --epochs 4 --optimizer adam --lr 0.003 --weight-decay 0 --out "$O/fm_w1a1.qwm"
# 2. its int8 twin (same architecture, float training, int8 export): for size and latency
want twin8 && run fm_bireal_int8 train --arch fmnist-bireal --weights 8 --acts 8 $FM --limit 20000 --epochs 1 --optimizer adam --lr 0.003 --weight-decay 0 --out "$O/fm_bireal_int8.qwm"
if want twin8 || want binary; then
  for m in fm_w1a1 fm_bireal_int8; do [ -f "$O/$m.qwm" ] && { $Q inspect "$O/$m.qwm" | head -1; $Q bench "$O/$m.qwm" --batch 1 | tee "$O/$m.bench.log"; $Q bench "$O/$m.qwm" --batch 32 | tee -a "$O/$m.bench.log"; }; done
fi
# 3. ternary fmnist-cnn (TWN, 8-bit activations) and 4. its fp32 twin: same architecture, optimizer and epochs
want ternary && run fm_w2a8_twn train --arch fmnist-cnn --method twn --weights 2 --acts 8 $FM --epochs 2 --out "$O/fm_w2a8_twn.qwm"
want fp32 && run fm_fp32 train --arch fmnist-cnn --weights 32 --acts 32 $FM --epochs 2 --out "$O/fm_fp32.qwm"
# 5. CIFAR-10: ternary ResNet-20 fine-tuned from the BN-folded float model, batch norms re-inserted (--bn),
#    one epoch over data_batch_1.bin (the time budget: ~15 min here), accuracy on all of test_batch.bin
want cifar && run c10_resnet20_w2a8_twn finetune $S/models/cifar10_resnet20_dev.onnx --data $S/datasets/cifar10/data_batch_1.bin \
  --test $S/datasets/cifar10/test_batch.bin --mean 0.4914,0.4822,0.4465 --std 0.2470,0.2435,0.2616 \
  --method twn --weights 2 --acts 8 --bn --epochs 1 --lr 1e-3 --out "$O/c10_resnet20_w2a8_twn.qwm"
# 6. (comparison) the same fine-tune, binary: --method xnor (W1A1)
want cifar-bin && run c10_resnet20_w1a1 finetune $S/models/cifar10_resnet20_dev.onnx --data $S/datasets/cifar10/data_batch_1.bin \
  --test $S/datasets/cifar10/test_batch.bin --mean 0.4914,0.4822,0.4465 --std 0.2470,0.2435,0.2616 \
  --method xnor --bn --epochs 1 --lr 1e-3 --out "$O/c10_resnet20_w1a1.qwm"
date -u
