package io.lccheckpoint.schema;

/**
 * What the pipeline knows of each {@link DType}, in one place: its width, its safetensors tag, and whether this release
 * checkpoints it end to end. The schemas know every dtype a PyTorch {@code state_dict} holds; the float types are coded
 * today, and the producer, the encoder and the restorer refuse the others with an error naming the tensor and the dtype
 * (issue #14 brings them: integers and bool stored exactly).
 */
public final class DTypes {
    private DTypes() {
    }

    /** Bytes per value (bool: one byte, 0 or 1, as safetensors and PyTorch store it). */
    public static int bytesPerValue(DType dtype) {
        return switch (dtype) {
            case FLOAT64, INT64 -> 8;
            case FLOAT32, INT32 -> 4;
            case BFLOAT16, FLOAT16, INT16 -> 2;
            case INT8, UINT8, BOOL -> 1;
        };
    }

    /**
     * Bytes per value of a raw delta: a 16-bit float tensor's deltas travel as float32 (the difference of two bfloat16 or
     * float16 values is a float32, exactly unless their exponents are far apart), every other dtype's in its own width.
     */
    public static int deltaBytesPerValue(DType dtype) {
        return dtype == DType.BFLOAT16 || dtype == DType.FLOAT16 ? 4 : bytesPerValue(dtype);
    }

    /** Whether values of the dtype are IEEE floats the codec quantizes (the others are stored exactly, issue #14). */
    public static boolean isFloat(DType dtype) {
        return dtype == DType.FLOAT32 || dtype == DType.FLOAT64 || dtype == DType.BFLOAT16 || dtype == DType.FLOAT16;
    }

    /** The dtype's tag in a safetensors header. */
    public static String safetensorsTag(DType dtype) {
        return switch (dtype) {
            case FLOAT32 -> "F32";
            case FLOAT64 -> "F64";
            case BFLOAT16 -> "BF16";
            case FLOAT16 -> "F16";
            case INT8 -> "I8";
            case INT16 -> "I16";
            case INT32 -> "I32";
            case INT64 -> "I64";
            case UINT8 -> "U8";
            case BOOL -> "BOOL";
        };
    }

    /** Whether this release checkpoints tensors of {@code dtype} (the float types: float32, float64, bfloat16, float16). */
    public static boolean supported(DType dtype) {
        return isFloat(dtype);
    }

    /** Why a tensor of an unsupported dtype is refused, for errors that name the tensor before it. */
    public static String unsupported(DType dtype) {
        return "dtype " + dtype + " is not checkpointed by this release (float32, float64, bfloat16 and float16 are; integer and bool"
                + " tensors come with issue #14)";
    }
}
