"""An LSTM layer on TensorFlow's fused ``BlockLSTMV2`` kernel.

Hand-written because Keras 3 has no fused CPU LSTM: on a CPU its ``LSTM`` runs
a generic ``while_loop`` of small ops step by step, while TensorFlow ships one
C++ op for the whole sequence (``tf.raw_ops.BlockLSTMV2``, with a registered
gradient); a train step with it takes ≈1.2–1.4× less time.

That registered gradient is wrong, though: TensorFlow 2.21 maps
``BlockLSTMV2`` to ``BlockLSTMGrad``, the V1 gradient kernel with the ICFO
gate layout, so its weight and input gradients disagree with Keras's LSTM
(by ~0.5 on a 6-unit layer). ``_block_lstm`` therefore supplies its own
gradient through ``BlockLSTMGradV2``, which matches Keras's to ~1e-7.

The layer is a drop-in for ``keras.layers.LSTM`` as this project uses it: the
same weights (``kernel`` (in, 4u), ``recurrent_kernel`` (u, 4u), ``bias`` (4u),
gate order i, f, c, o — the kernel's IFCO layout), initializers and maths
(tanh / sigmoid, no peepholes, no cell clipping; ``BlockLSTMV2`` has no
forget-bias attribute, the +1 sits in the bias as in Keras's
``unit_forget_bias``). It expects post-padded sequences with a Keras mask
(a prefix of ones per row); without a mask every step is real.

TensorFlow backend only: this module imports TensorFlow. Importing it
registers the layer for ``keras.saving.load_model`` (``core.keras.models``
does so)."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

NO_CELL_CLIP = -1.0  # BlockLSTMV2 clips the cell state only when cell_clip > 0


def _block_lstm(seq_len_max: tf.Tensor, x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """Every step's ``h`` [T, B, u] of an LSTM from zero states over time-major
    ``x`` [T, B, in]; ``w`` is [kernel; recurrent_kernel], ``b`` the bias (IFCO).
    Steps from ``seq_len_max`` on come out as zeros."""
    units = tf.shape(b)[0] // 4
    zeros_state = tf.zeros(tf.stack([tf.shape(x)[1], units]), x.dtype)
    no_peephole = tf.zeros(tf.reshape(units, [1]), x.dtype)
    inputs = {"seq_len_max": seq_len_max, "cs_prev": zeros_state, "h_prev": zeros_state, "wci": no_peephole,
              "wcf": no_peephole, "wco": no_peephole}

    @tf.custom_gradient
    def forward(x, w, b):
        i, cs, f, o, ci, co, h = tf.raw_ops.BlockLSTMV2(x=x, w=w, b=b, cell_clip=NO_CELL_CLIP, use_peephole=False,
                                                        **inputs)

        def backward(h_grad):
            grads = tf.raw_ops.BlockLSTMGradV2(x=x, w=w, b=b, i=i, cs=cs, f=f, o=o, ci=ci, co=co, h=h,
                                               cs_grad=tf.zeros_like(cs), h_grad=tf.convert_to_tensor(h_grad),
                                               use_peephole=False, **inputs)
            return grads[0], grads[3], grads[7]  # x, w, b

        return h, backward

    return forward(x, w, b)


@keras.saving.register_keras_serializable(package="imbalance_lab")
class FusedLSTM(layers.Layer):
    """``LSTM(units)`` over a whole (post-padded, masked) sequence in one fused op.

    Without ``return_sequences`` it returns each row's state at its last real
    step. With it, every step's state (batch-major), zero on padded steps, and
    the mask passes on. The kernel computes past a row's end (its padding
    cannot reach earlier steps); only the outputs read afterwards ignore it.

    ``go_backwards`` reverses each row's real prefix (``tf.reverse_sequence``),
    so the padding stays at the end; with ``return_sequences`` the outputs come
    in reversed time order as Keras's ``LSTM(go_backwards=True)`` gives them,
    which is what ``keras.layers.Bidirectional`` flips back. Unlike Keras's
    layer, the mask passed on is then reversed too.

    No dropout, stateful mode, initial state or ``return_state``: the models
    here use none of them."""

    def __init__(self, units: int, return_sequences: bool = False, go_backwards: bool = False, **kwargs):
        super().__init__(**kwargs)
        if units <= 0:
            raise ValueError(f"FusedLSTM needs units > 0, got {units}.")
        self.units = int(units)
        self.return_sequences = bool(return_sequences)
        self.go_backwards = bool(go_backwards)
        self.return_state = False  # read by keras.layers.Bidirectional
        self.stateful = False
        self.supports_masking = True
        self.supports_jit = False  # no XLA kernel for BlockLSTMV2
        # Created in the order Keras's LSTMCell creates them, each taking one
        # draw of Keras's default-seed stream, plus one for the dropout seed
        # generator the cell makes: under the same global seed this layer, and
        # every layer built after it, starts from the weights Keras's LSTM
        # would give.
        self.kernel_initializer = keras.initializers.GlorotUniform()
        self.recurrent_initializer = keras.initializers.Orthogonal()
        keras.initializers.RandomUniform()  # stands in for LSTMCell's SeedGenerator draw

    def build(self, input_shape) -> None:
        units = self.units
        self.kernel = self.add_weight(shape=(input_shape[-1], 4 * units), initializer=self.kernel_initializer,
                                      name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(units, 4 * units), initializer=self.recurrent_initializer,
                                                name="recurrent_kernel")

        def unit_forget_bias(shape, dtype=None):  # zeros, with ones on the forget gate
            return keras.ops.concatenate([keras.ops.zeros((units,), dtype), keras.ops.ones((units,), dtype),
                                          keras.ops.zeros((2 * units,), dtype)])

        self.bias = self.add_weight(shape=(4 * units,), initializer=unit_forget_bias, name="bias")

    def call(self, inputs, mask=None, initial_state=None, training=None) -> tf.Tensor:
        if initial_state is not None:
            raise NotImplementedError("FusedLSTM starts from zero states only.")
        x = tf.transpose(tf.convert_to_tensor(inputs), [1, 0, 2])  # time-major [T, B, in]
        steps, batch = tf.shape(x)[0], tf.shape(x)[1]
        if mask is None:
            lengths = tf.fill([batch], steps)
        else:
            lengths = tf.reduce_sum(tf.cast(tf.cast(mask, tf.bool), tf.int32), axis=1)
        if self.go_backwards:
            x = tf.reverse_sequence(x, lengths, seq_axis=0, batch_axis=1)
        dtype = x.dtype
        w = tf.concat([tf.cast(self.kernel, dtype), tf.cast(self.recurrent_kernel, dtype)], axis=0)
        seq_len_max = tf.cast(tf.reduce_max(tf.concat([lengths, [0]], 0)), tf.int64)
        h = _block_lstm(seq_len_max, x, w, tf.cast(self.bias, dtype))  # [T, B, u]
        if not self.return_sequences:
            last = tf.stack([tf.maximum(lengths - 1, 0), tf.range(batch)], axis=1)
            # A row with no real step keeps the zero initial state, as in Keras.
            return tf.gather_nd(h, last) * tf.cast(lengths > 0, dtype)[:, None]
        real = tf.sequence_mask(lengths, steps, dtype)  # [B, T]
        h = h * tf.transpose(real)[:, :, None]
        if self.go_backwards:  # per original position, then Keras's reversed time order
            h = tf.reverse(tf.reverse_sequence(h, lengths, seq_axis=0, batch_axis=1), [0])
        return tf.transpose(h, [1, 0, 2])

    def compute_mask(self, inputs, mask=None):
        if not self.return_sequences or mask is None:
            return None
        return keras.ops.flip(mask, axis=1) if self.go_backwards else mask

    def compute_output_shape(self, input_shape) -> tuple:
        if self.return_sequences:
            return (input_shape[0], input_shape[1], self.units)
        return (input_shape[0], self.units)

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units, "return_sequences": self.return_sequences,
                "go_backwards": self.go_backwards}
