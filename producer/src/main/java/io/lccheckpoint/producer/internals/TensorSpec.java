package io.lccheckpoint.producer.internals;

import io.lccheckpoint.codec.CodecOptions;
import io.lccheckpoint.codec.ValueType;
import io.lccheckpoint.schema.DType;
import io.lccheckpoint.schema.DTypes;
import io.lccheckpoint.schema.TensorInfo;
import java.util.ArrayList;
import java.util.List;

/**
 * A registered tensor: its shape and dtype, how many chunks of {@code lcckpt.chunk.values} it makes, and how it is coded:
 * exactly (always for an integer or bool dtype; a float tensor when asked, carried as its bit patterns), or quantized
 * with its own codec options ({@code options}; null: the job's).
 */
public record TensorSpec(String name, long[] shape, DType dtype, int length, int chunkCount, CodecOptions options, boolean exact) {

    /** How the tensor is coded, as its manifest entry says ({@code TensorInfo.codec}): "exact", its own options, or null. */
    public String codec() {
        return exact ? DTypes.EXACT_CODEC : options == null ? null : options.describe();
    }

    /** The dtype its chunk records carry: its own, or for an exact float tensor the integer type of its width. */
    public DType carrier() {
        return exact ? DTypes.exactCarrier(dtype) : dtype;
    }

    /** Bytes per value of a raw delta (what the storage split sends per value). */
    public int width() {
        return DTypes.deltaBytesPerValue(carrier());
    }

    /** The codec's type for the tensor's chunks. */
    public ValueType valueType() {
        return ValueType.valueOf(carrier().name());
    }

    /** The tensor as a step's manifest lists it. */
    public TensorInfo info(int chunkValues) {
        List<Long> dimensions = new ArrayList<>(shape.length);
        for (long dimension : shape) {
            dimensions.add(dimension);
        }
        return new TensorInfo(name, dimensions, dtype, chunkValues, chunkCount, codec());
    }
}
