package io.lccheckpoint.producer.internals;

import io.lccheckpoint.codec.CodecOptions;
import io.lccheckpoint.codec.ValueType;
import io.lccheckpoint.schema.DType;
import io.lccheckpoint.schema.DTypes;
import io.lccheckpoint.schema.TensorInfo;
import java.util.ArrayList;
import java.util.List;

/**
 * A registered tensor: its shape and dtype, how many chunks of {@code lcckpt.chunk.values} it makes, and its own codec
 * options (null: the job's; always null for an exact dtype, which no options apply to).
 */
public record TensorSpec(String name, long[] shape, DType dtype, int length, int chunkCount, CodecOptions options) {

    /** How the tensor is coded, as its manifest entry says ({@code TensorInfo.codec}): "exact", its own options, or null. */
    public String codec() {
        return DTypes.isExact(dtype) ? DTypes.EXACT_CODEC : options == null ? null : options.describe();
    }

    /** Bytes per value of a raw delta (what the storage split sends per value). */
    public int width() {
        return DTypes.deltaBytesPerValue(dtype);
    }

    /** The codec's type for the tensor's chunks. */
    public ValueType valueType() {
        return ValueType.valueOf(dtype.name());
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
