package io.lccheckpoint.producer;

import io.lccheckpoint.codec.CodecOptions;

/**
 * How a tensor is coded, when it is not the job's way ({@code lcckpt.codec.*}): quantized with options of its own, or
 * stored exactly. Integer and bool tensors are always exact; a float tensor coded exactly (a BatchNorm running
 * statistic, say) travels as its bit patterns and costs little only while its values do not change.
 *
 * @param isExact lossless: the codec's integer coding of the values' bit patterns (docs/FORMAT.md §4.5)
 * @param options the tensor's own codec options (null when exact)
 */
public record TensorCoding(boolean isExact, CodecOptions options) {
    private static final TensorCoding EXACT = new TensorCoding(true, null);

    public TensorCoding {
        if (isExact == (options != null)) {
            throw new IllegalArgumentException("a tensor's coding is exact or has options, not both and not neither");
        }
    }

    public static TensorCoding exact() {
        return EXACT;
    }

    public static TensorCoding of(CodecOptions options) {
        return new TensorCoding(false, options);
    }

    /**
     * {@code exact}, or options as {@link CodecOptions#parse} reads them, missing keys from {@code defaults}.
     *
     * @throws IllegalArgumentException naming what is wrong
     */
    public static TensorCoding parse(String text, CodecOptions defaults) {
        return text.trim().equals("exact") ? EXACT : of(CodecOptions.parse(text, defaults));
    }
}
