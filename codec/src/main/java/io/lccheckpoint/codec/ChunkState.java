package io.lccheckpoint.codec;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * The life of one chunk across steps, as the encoder sees it: the reconstructed state {@code ũ_t} (what a restore will
 * rebuild) and the residual {@code r_t = u_t − ũ_t} carried by error feedback (DESIGN.md §2). Exactly one of the float
 * or double pairs is non-null, according to {@link #type()}: FLOAT32, BFLOAT16 and FLOAT16 use the float pair. For a
 * 16-bit type, ũ holds values of the type (what a restore writes, FORMAT.md §1) and r is float32. An exact type (the
 * integers and bool, FORMAT.md §4.5) has ũ only, as canonical longs ({@link #approxLong()}), and no residual: ũ = u.
 *
 * <p>Not thread-safe; the arrays are exposed for zero-copy use by the pipeline and are mutated by
 * {@link ChunkEncoder#encode}.
 */
public final class ChunkState {
    private final ValueType type;
    private final float[] approxFloat;
    private final float[] residualFloat;
    private final double[] approxDouble;
    private final double[] residualDouble;
    private final long[] approxLong;
    /** The code-table cache (CodecOptions.reuseCodeTables): symbols by rank, then their code lengths; null if empty. */
    private int[] cachedCodeTable;

    private ChunkState(ValueType type, float[] approxFloat, float[] residualFloat, double[] approxDouble, double[] residualDouble) {
        this.type = type;
        this.approxFloat = approxFloat;
        this.residualFloat = residualFloat;
        this.approxDouble = approxDouble;
        this.residualDouble = residualDouble;
        this.approxLong = null;
    }

    private ChunkState(ValueType type, long[] approxLong) {
        this.type = type;
        this.approxFloat = null;
        this.residualFloat = null;
        this.approxDouble = null;
        this.residualDouble = null;
        this.approxLong = approxLong;
    }

    /**
     * A chunk of an exact type (integers, bool) starting from {@code u_0}; values are taken modulo 2^(8B) as the type's
     * integers ({@code -1} and {@code 255} are the same UINT8). A BOOL value must be 0 or 1. Copied.
     */
    public static ChunkState exact(ValueType type, long[] initial) {
        return ofExact(type, initial.clone());
    }

    /** Wraps an exact type's values (canonicalized in place, as {@link #exact}); not copied. */
    public static ChunkState ofExact(ValueType type, long[] values) {
        if (!type.isExact()) {
            throw new IllegalArgumentException(type + " is not an exact (integer or bool) type");
        }
        for (int i = 0; i < values.length; i++) {
            values[i] = type.canonical(values[i]);
            if (type == ValueType.BOOL && values[i] > 1) {
                throw new IllegalArgumentException("value " + i + " (" + values[i] + ") is not a bool (0 or 1)");
            }
        }
        return new ChunkState(type, values);
    }

    /** A chunk starting from {@code u_0}, stored losslessly: {@code ũ_0 = u_0}, {@code r_0 = 0}. The array is copied. */
    public static ChunkState float32(float[] initial) {
        return new ChunkState(ValueType.FLOAT32, initial.clone(), new float[initial.length], null, null);
    }

    public static ChunkState float64(double[] initial) {
        return new ChunkState(ValueType.FLOAT64, null, null, initial.clone(), new double[initial.length]);
    }

    /** A bfloat16 chunk from {@code u_0}; every value must be a bfloat16 (see {@link SixteenBitFloats#round}). Copied. */
    public static ChunkState bfloat16(float[] initial) {
        return ofSixteenBit(ValueType.BFLOAT16, initial.clone(), new float[initial.length]);
    }

    /** A float16 chunk from {@code u_0}; every value must be a float16. Copied. */
    public static ChunkState float16(float[] initial) {
        return ofSixteenBit(ValueType.FLOAT16, initial.clone(), new float[initial.length]);
    }

    /**
     * Wraps existing arrays of a BFLOAT16 or FLOAT16 chunk: ũ as float32 values representable in the type (checked), r
     * as float32. Not copied.
     */
    public static ChunkState ofSixteenBit(ValueType type, float[] approx, float[] residual) {
        if (!type.isSixteenBit()) {
            throw new IllegalArgumentException(type + " is not a 16-bit type");
        }
        checkLengths(approx.length, residual.length);
        for (int i = 0; i < approx.length; i++) {
            if (!SixteenBitFloats.isRepresentable(type, approx[i]) || !Float.isFinite(approx[i])) {
                throw new IllegalArgumentException("value " + i + " (" + approx[i] + ") is not a finite " + type);
            }
        }
        return new ChunkState(type, approx, residual, null, null);
    }

    /** Wraps existing arrays (for instance restored from a state store); they are not copied. */
    public static ChunkState ofFloat32(float[] approx, float[] residual) {
        checkLengths(approx.length, residual.length);
        return new ChunkState(ValueType.FLOAT32, approx, residual, null, null);
    }

    public static ChunkState ofFloat64(double[] approx, double[] residual) {
        checkLengths(approx.length, residual.length);
        return new ChunkState(ValueType.FLOAT64, null, null, approx, residual);
    }

    /** Wraps float32 arrays of a chunk of {@code type}: float32, or a 16-bit type (as {@link #ofSixteenBit}). */
    public static ChunkState ofFloats(ValueType type, float[] approx, float[] residual) {
        if (type == ValueType.FLOAT64) {
            throw new IllegalArgumentException("a float64 chunk keeps double arrays");
        }
        return type == ValueType.FLOAT32 ? ofFloat32(approx, residual) : ofSixteenBit(type, approx, residual);
    }

    /**
     * A chunk starting from {@code u_0} given as little-endian values of {@code type} (FORMAT.md §1; a superstep's or a raw
     * initial state's bytes), with a zero residual. The bytes must be whole values.
     */
    public static ChunkState initial(ValueType type, ByteBuffer values) {
        if (type.isExact()) {
            return ofExact(type, LittleEndian.integers(type.bytes, values));
        }
        if (type.isSixteenBit()) {
            float[] approx = sixteenBit(type, values);
            return ofSixteenBit(type, approx, new float[approx.length]);
        }
        return type == ValueType.FLOAT32 ? ofFloat32(floats(values), new float[values.remaining() / 4])
                : ofFloat64(doubles(values), new double[values.remaining() / 8]);
    }

    /**
     * ũ and r as little-endian values (a state handed over between the encoder and a trainer): both of {@code type},
     * except that a 16-bit type's r is float32.
     */
    public static ChunkState fromLittleEndian(ValueType type, ByteBuffer approx, ByteBuffer residual) {
        if (type.isExact()) {
            if (residual.hasRemaining()) {
                throw new IllegalArgumentException("an exact " + type + " chunk has no residual, but " + residual.remaining() + " bytes were given");
            }
            return initial(type, approx);
        }
        if (type.isSixteenBit()) {
            return ofSixteenBit(type, sixteenBit(type, approx), floats(residual));
        }
        return type == ValueType.FLOAT32 ? ofFloat32(floats(approx), floats(residual)) : ofFloat64(doubles(approx), doubles(residual));
    }

    /**
     * Sets the residual to −0.0, the identity of +: the next step's {@code δ = delta + r} is then {@code delta} exactly.
     * For a delta that carries the residual folded in already (the trainer held it, DESIGN.md §6).
     */
    public void dropResidual() {
        if (type.isExact()) {
            return;
        }
        if (type != ValueType.FLOAT64) {
            Arrays.fill(residualFloat, -0.0f);
        } else {
            Arrays.fill(residualDouble, -0.0);
        }
    }

    /** ũ as little-endian values of the type (2 bytes each for a 16-bit type): a superstep's values. */
    public ByteBuffer approxLittleEndian() {
        if (type.isExact()) {
            return ByteBuffer.wrap(LittleEndian.integerBytes(type.bytes, approxLong, approxLong.length));
        }
        if (type.isSixteenBit()) {
            ByteBuffer buffer = ByteBuffer.allocate(2 * approxFloat.length).order(ByteOrder.LITTLE_ENDIAN);
            buffer.asShortBuffer().put(SixteenBitFloats.toBits(type, approxFloat));
            return buffer;
        }
        return type == ValueType.FLOAT32 ? littleEndian(approxFloat) : littleEndian(approxDouble);
    }

    /** r as little-endian bytes (float32 for a 16-bit type; none for an exact type). */
    public ByteBuffer residualLittleEndian() {
        if (type.isExact()) {
            return ByteBuffer.allocate(0);
        }
        return type == ValueType.FLOAT64 ? littleEndian(residualDouble) : littleEndian(residualFloat);
    }

    /** The XXH64 of ũ (FORMAT.md §5): what a superstep, a handover and a coded record after this state carry. */
    public long approxChecksum() {
        if (type.isExact()) {
            return StateChecksum.of(approxLong, approxLong.length, type);
        }
        if (type.isSixteenBit()) {
            return StateChecksum.of(approxFloat, approxFloat.length, type);
        }
        return type == ValueType.FLOAT32 ? Checksums.xxh64(approxFloat) : Checksums.xxh64(approxDouble);
    }

    // float32 and float64 twins: Java's primitive arrays share no type, and a generic version would box every value

    private static float[] floats(ByteBuffer bytes) {
        float[] values = new float[bytes.remaining() / 4];
        bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
        return values;
    }

    private static float[] sixteenBit(ValueType type, ByteBuffer bytes) {
        short[] bits = new short[bytes.remaining() / 2];
        bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN).asShortBuffer().get(bits);
        return SixteenBitFloats.fromBits(type, bits);
    }

    private static double[] doubles(ByteBuffer bytes) {
        double[] values = new double[bytes.remaining() / 8];
        bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer().get(values);
        return values;
    }

    private static ByteBuffer littleEndian(float[] values) {
        ByteBuffer buffer = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        buffer.asFloatBuffer().put(values);
        return buffer;
    }

    private static ByteBuffer littleEndian(double[] values) {
        ByteBuffer buffer = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        buffer.asDoubleBuffer().put(values);
        return buffer;
    }

    private static void checkLengths(int approx, int residual) {
        if (approx != residual) {
            throw new IllegalArgumentException("approx has " + approx + " values but residual has " + residual);
        }
    }

    public ValueType type() {
        return type;
    }

    public int size() {
        return approxFloat != null ? approxFloat.length : approxDouble != null ? approxDouble.length : approxLong.length;
    }

    public float[] approxFloat() {
        return approxFloat;
    }

    public float[] residualFloat() {
        return residualFloat;
    }

    public double[] approxDouble() {
        return approxDouble;
    }

    public double[] residualDouble() {
        return residualDouble;
    }

    /** An exact type's values, canonical (see {@link ValueType}); null for a float type. */
    public long[] approxLong() {
        return approxLong;
    }

    /**
     * The code-table cache, for persisting with the state when {@link CodecOptions#reuseCodeTables()} is on:
     * {@code [symbolCount, used, rank-ordered used symbols..., code lengths of all symbols...]}, or null.
     */
    public int[] cachedCodeTable() {
        return cachedCodeTable == null ? null : cachedCodeTable.clone();
    }

    public void restoreCachedCodeTable(int[] table) {
        this.cachedCodeTable = table == null ? null : table.clone();
    }

    int[] codeTableCache() {
        return cachedCodeTable;
    }

    void setCodeTableCache(int[] table) {
        this.cachedCodeTable = table;
    }

    public ChunkState copy() {
        if (type.isExact()) {
            return new ChunkState(type, approxLong.clone());
        }
        ChunkState copy = type != ValueType.FLOAT64
                ? new ChunkState(type, approxFloat.clone(), residualFloat.clone(), null, null)
                : new ChunkState(type, null, null, approxDouble.clone(), residualDouble.clone());
        copy.cachedCodeTable = cachedCodeTable == null ? null : cachedCodeTable.clone();
        return copy;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ChunkState other && type == other.type
                && Arrays.equals(approxFloat, other.approxFloat) && Arrays.equals(residualFloat, other.residualFloat)
                && Arrays.equals(approxDouble, other.approxDouble) && Arrays.equals(residualDouble, other.residualDouble)
                && Arrays.equals(approxLong, other.approxLong)
                && Arrays.equals(cachedCodeTable, other.cachedCodeTable);
    }

    @Override
    public int hashCode() {
        return type.hashCode() * 31 + Arrays.hashCode(approxFloat) + Arrays.hashCode(approxDouble) + Arrays.hashCode(approxLong);
    }
}
