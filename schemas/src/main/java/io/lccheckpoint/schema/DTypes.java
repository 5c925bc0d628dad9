package io.lccheckpoint.schema;

/**
 * What the pipeline knows of each {@link DType}, in one place: its width, its safetensors tag, and whether this release
 * checkpoints it end to end. The schemas know every dtype a PyTorch {@code state_dict} holds; float32 and float64 are
 * coded today, and the producer, the encoder and the restorer refuse the others with an error naming the tensor and
 * the dtype (issue #14 brings them: bfloat16 and float16 coded, integers and bool stored exactly).
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

    /** Whether this release checkpoints tensors of {@code dtype} (float32 and float64). */
    public static boolean supported(DType dtype) {
        return dtype == DType.FLOAT32 || dtype == DType.FLOAT64;
    }

    /** Why a tensor of an unsupported dtype is refused, for errors that name the tensor before it. */
    public static String unsupported(DType dtype) {
        return "dtype " + dtype + " is not checkpointed by this release (float32 and float64 are; bfloat16, float16, integer and bool"
                + " tensors come with issue #14)";
    }
}
