#!/usr/bin/env python3
"""TFLite -> ONNX converter for the op subset of MediaPipe's BlazeFace (short and
full range), face mesh (face_landmark) and selfie segmentation models, including
MediaPipe's custom op `Convolution2DTransposeBias` (which tf2onnx and
tract-tflite lack).

Credit: adapted from the reference converter `tflite2onnx_mp.py` supplied to the
PhotoReceipt project with its shared tools (verified there against the TFLite
interpreter for these four models). Changes here: a fixed producer string, no
progress output, an argument check; run by scripts/fetch-models.

Internally 4-D activations are kept NCHW; model I/O keeps the original NHWC
layout (a Transpose is added at the input and before 4-D outputs).
Needs: tflite==2.18.0, onnx, numpy (scripts/fetch-models pins them in .venv).
Usage: tflite2onnx.py in.tflite out.onnx
"""

import sys
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto
import tflite

BO = tflite.BuiltinOperator
OPNAME = {v: k for k, v in BO.__dict__.items() if not k.startswith('_')}
NP_DT = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 9: np.int8}
ACT = {0: None, 1: 'Relu', 3: 'Relu6'}


def main(src, dst):
    buf = open(src, 'rb').read()
    m = tflite.Model.GetRootAsModel(buf, 0)
    g = m.Subgraphs(0)
    nodes, inits = [], []
    consts = {}      # tensor idx -> np array (constants)
    name = {}        # tensor idx -> onnx value name
    layout = {}      # tensor idx -> 'nchw' | 'plain'
    uid = [0]

    def fresh(p):
        uid[0] += 1
        return f'{p}_{uid[0]}'

    def tshape(i):
        return g.Tensors(i).ShapeAsNumpy().tolist()

    def tname(i):
        return g.Tensors(i).Name().decode()

    def get_const(i):
        if i in consts:
            return consts[i]
        t = g.Tensors(i)
        b = m.Buffers(t.Buffer())
        if b is None or b.DataLength() == 0:
            return None
        arr = np.frombuffer(b.DataAsNumpy().tobytes(), dtype=NP_DT[t.Type()])
        arr = arr.reshape(t.ShapeAsNumpy().tolist() if t.ShapeLength() else [])
        consts[i] = arr
        return arr

    def add_init(arr, p='c'):
        n = fresh(p)
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), n))
        return n

    def inp(i):
        """ONNX name for tensor i as an operand (constants materialised)."""
        if i in name:
            return name[i]
        c = get_const(i)
        assert c is not None, f'unknown tensor {i} {tname(i)}'
        c = c.astype(np.float32) if c.dtype == np.float16 else c
        if c.ndim == 4:
            c = c.transpose(0, 3, 1, 2)
        elif c.ndim in (1, 3) and c.dtype == np.float32 and c.size > 1:
            # per-channel vector broadcast against NHWC last axis -> [C,1,1]
            c = c.reshape(-1, 1, 1)
        return add_init(c.astype(np.float32) if c.dtype == np.float64 else c)

    def act(out_name, fa):
        a = ACT.get(fa, 'x')
        assert a != 'x', f'unsupported fused activation {fa}'
        if a is None:
            return out_name
        n2 = fresh(a)
        if a == 'Relu6':
            nodes.append(helper.make_node('Clip', [out_name, add_init(np.array(0, np.float32)),
                                                   add_init(np.array(6, np.float32))], [n2]))
        else:
            nodes.append(helper.make_node(a, [out_name], [n2]))
        return n2

    def same_pads(in_hw, k, s, d=(1, 1)):
        pads_b, pads_e = [], []
        for x, kk, ss, dd in zip(in_hw, k, s, d):
            out = -(-x // ss)
            tot = max((out - 1) * ss + (kk - 1) * dd + 1 - x, 0)
            pads_b.append(tot // 2)
            pads_e.append(tot - tot // 2)
        return pads_b + pads_e

    # graph input(s): NHWC -> NCHW
    g_inputs = []
    for k in range(g.InputsLength()):
        i = g.Inputs(k)
        shp = tshape(i)
        g_inputs.append(helper.make_tensor_value_info(tname(i), TensorProto.FLOAT, shp))
        if len(shp) == 4:
            n = fresh('in_nchw')
            nodes.append(helper.make_node('Transpose', [tname(i)], [n], perm=[0, 3, 1, 2]))
            name[i], layout[i] = n, 'nchw'
        else:
            name[i], layout[i] = tname(i), 'plain'

    for oi in range(g.OperatorsLength()):
        op = g.Operators(oi)
        oc = m.OperatorCodes(op.OpcodeIndex())
        code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
        kind = OPNAME.get(code)
        if oc.CustomCode():
            kind = 'CUSTOM:' + oc.CustomCode().decode()
        ins = [int(x) for x in op.InputsAsNumpy()] if op.InputsLength() else []
        outs = [int(x) for x in op.OutputsAsNumpy()]
        o = outs[0]
        out_shape = tshape(o)
        opt = op.BuiltinOptions()

        def setout(n, lay='nchw'):
            name[o], layout[o] = n, lay

        if kind == 'DEQUANTIZE':
            consts[o] = get_const(ins[0]).astype(np.float32)
            continue
        if kind in ('CONV_2D', 'DEPTHWISE_CONV_2D'):
            w = get_const(ins[0 + 1]).astype(np.float32)
            b = get_const(ins[2]).astype(np.float32) if len(ins) > 2 and ins[2] >= 0 else None
            if kind == 'CONV_2D':
                o2 = tflite.Conv2DOptions(); o2.Init(opt.Bytes, opt.Pos)
                W = w.transpose(0, 3, 1, 2); group = 1
            else:
                o2 = tflite.DepthwiseConv2DOptions(); o2.Init(opt.Bytes, opt.Pos)
                W = w.transpose(3, 0, 1, 2); group = tshape(ins[0])[3]
            k = W.shape[2:]
            s = (o2.StrideH(), o2.StrideW()); d = (o2.DilationHFactor(), o2.DilationWFactor())
            in_hw = tshape(ins[0])[1:3]
            pads = same_pads(in_hw, k, s, d) if o2.Padding() == 0 else [0, 0, 0, 0]
            args = [name[ins[0]], add_init(W, 'W')] + ([add_init(b, 'B')] if b is not None else [])
            n = fresh('conv')
            nodes.append(helper.make_node('Conv', args, [n], kernel_shape=list(k), strides=list(s),
                                          dilations=list(d), pads=pads, group=group))
            setout(act(n, o2.FusedActivationFunction()))
        elif kind == 'CUSTOM:Convolution2DTransposeBias':
            pad, sw, sh = np.frombuffer(op.CustomOptionsAsNumpy().tobytes()[:12], np.int32)
            w = get_const(ins[1]).astype(np.float32)          # [cout, kh, kw, cin]
            b = get_const(ins[2]).astype(np.float32)
            W = w.transpose(3, 0, 1, 2)                         # [cin, cout, kh, kw]
            kh, kw = w.shape[1:3]
            ih, iw = tshape(ins[0])[1:3]; oh, ow = out_shape[1:3]
            th = (ih - 1) * sh + kh - oh; tw = (iw - 1) * sw + kw - ow
            pads = [th // 2, tw // 2, th - th // 2, tw - tw // 2]
            n = fresh('convT')
            nodes.append(helper.make_node('ConvTranspose', [name[ins[0]], add_init(W, 'W'), add_init(b, 'B')], [n],
                                          kernel_shape=[int(kh), int(kw)], strides=[int(sh), int(sw)], pads=pads))
            setout(n)
        elif kind in ('ADD', 'MUL'):
            cls = tflite.AddOptions if kind == 'ADD' else tflite.MulOptions
            fa = 0
            if opt is not None:
                o2 = cls(); o2.Init(opt.Bytes, opt.Pos); fa = o2.FusedActivationFunction()
            n = fresh(kind.lower())
            nodes.append(helper.make_node(kind.capitalize(), [inp(ins[0]), inp(ins[1])], [n]))
            lay = 'nchw' if any(layout.get(i) == 'nchw' for i in ins) else 'plain'
            setout(act(n, fa), lay)
        elif kind in ('RELU', 'LOGISTIC', 'HARD_SWISH', 'RELU6'):
            n = fresh(kind.lower())
            if kind == 'HARD_SWISH':
                hs = fresh('hsig')
                nodes.append(helper.make_node('HardSigmoid', [name[ins[0]]], [hs], alpha=1.0 / 6, beta=0.5))
                nodes.append(helper.make_node('Mul', [name[ins[0]], hs], [n]))
            elif kind == 'RELU6':
                nodes.append(helper.make_node('Clip', [name[ins[0]], add_init(np.array(0, np.float32)),
                                                       add_init(np.array(6, np.float32))], [n]))
            else:
                nodes.append(helper.make_node({'RELU': 'Relu', 'LOGISTIC': 'Sigmoid'}[kind], [name[ins[0]]], [n]))
            setout(n, layout[ins[0]])
        elif kind == 'PRELU':
            n = fresh('prelu')
            alpha = get_const(ins[1]).astype(np.float32).reshape(-1, 1, 1)
            nodes.append(helper.make_node('PRelu', [name[ins[0]], add_init(alpha, 'alpha')], [n]))
            setout(n)
        elif kind in ('MAX_POOL_2D', 'AVERAGE_POOL_2D'):
            o2 = tflite.Pool2DOptions(); o2.Init(opt.Bytes, opt.Pos)
            k = (o2.FilterHeight(), o2.FilterWidth()); s = (o2.StrideH(), o2.StrideW())
            pads = same_pads(tshape(ins[0])[1:3], k, s) if o2.Padding() == 0 else [0, 0, 0, 0]
            assert kind == 'MAX_POOL_2D' or pads == [0, 0, 0, 0], 'avgpool with SAME pads not handled'
            n = fresh('pool')
            nodes.append(helper.make_node('MaxPool' if kind == 'MAX_POOL_2D' else 'AveragePool', [name[ins[0]]], [n],
                                          kernel_shape=list(k), strides=list(s), pads=pads))
            setout(act(n, o2.FusedActivationFunction()))
        elif kind == 'MEAN':
            axes = get_const(ins[1]).tolist()
            assert sorted(axes) == [1, 2] and len(out_shape) == 4, 'only spatial keepdims mean'
            n = fresh('mean')
            nodes.append(helper.make_node('ReduceMean', [name[ins[0]]], [n], axes=[2, 3], keepdims=1))
            setout(n)
        elif kind == 'PAD':
            p = get_const(ins[1]).astype(np.int64)      # [4,2] NHWC
            perm = [0, 3, 1, 2]
            pads = [p[a, 0] for a in perm] + [p[a, 1] for a in perm]
            n = fresh('pad')
            nodes.append(helper.make_node('Pad', [name[ins[0]], add_init(np.array(pads, np.int64), 'pads')], [n]))
            setout(n)
        elif kind == 'RESIZE_BILINEAR':
            o2 = tflite.ResizeBilinearOptions(); o2.Init(opt.Bytes, opt.Pos)
            size = get_const(ins[1]).tolist()
            c = tshape(ins[0])[3]
            mode = 'align_corners' if o2.AlignCorners() else ('half_pixel' if o2.HalfPixelCenters() else 'asymmetric')
            n = fresh('resize')
            nodes.append(helper.make_node('Resize', [name[ins[0]], '', '', add_init(np.array([1, c] + size, np.int64), 'sizes')],
                                          [n], mode='linear', coordinate_transformation_mode=mode))
            setout(n)
        elif kind == 'RESHAPE':
            src_n = name[ins[0]]
            if layout[ins[0]] == 'nchw':
                t = fresh('to_nhwc')
                nodes.append(helper.make_node('Transpose', [src_n], [t], perm=[0, 2, 3, 1]))
                src_n = t
            n = fresh('reshape')
            nodes.append(helper.make_node('Reshape', [src_n, add_init(np.array(out_shape, np.int64), 'shape')], [n]))
            if len(out_shape) == 4:
                t = fresh('to_nchw')
                nodes.append(helper.make_node('Transpose', [n], [t], perm=[0, 3, 1, 2]))
                setout(t)
            else:
                setout(n, 'plain')
        elif kind == 'CONCATENATION':
            o2 = tflite.ConcatenationOptions(); o2.Init(opt.Bytes, opt.Pos)
            ax = o2.Axis()
            lays = {layout[i] for i in ins}
            assert len(lays) == 1
            if lays == {'nchw'}:
                ax = {0: 0, 1: 2, 2: 3, 3: 1, -1: 1}[ax]
            n = fresh('concat')
            nodes.append(helper.make_node('Concat', [name[i] for i in ins], [n], axis=ax))
            setout(act(n, o2.FusedActivationFunction()), lays.pop())
        else:
            raise SystemExit(f'unsupported op {kind}')

    g_outputs = []
    for k in range(g.OutputsLength()):
        i = g.Outputs(k)
        shp = tshape(i)
        src_n = name[i]
        if layout[i] == 'nchw':
            nodes.append(helper.make_node('Transpose', [src_n], [tname(i)], perm=[0, 2, 3, 1]))
        else:
            nodes.append(helper.make_node('Identity', [src_n], [tname(i)]))
        g_outputs.append(helper.make_tensor_value_info(tname(i), TensorProto.FLOAT, shp))

    graph = helper.make_graph(nodes, 'converted', g_inputs, g_outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)],
                              producer_name='photoreceipt-tflite2onnx')
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, dst)


if __name__ == '__main__':
    if len(sys.argv) != 3:
        raise SystemExit('usage: tflite2onnx.py in.tflite out.onnx')
    main(sys.argv[1], sys.argv[2])
