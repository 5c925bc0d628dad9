package io.lccheckpoint.codec;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * The life of one chunk across steps, as the encoder sees it: the reconstructed state {@code ũ_t} (what a restore will
 * rebuild) and the residual {@code r_t = u_t − ũ_t} carried by error feedback (DESIGN.md §2). Exactly one of the float
 * or double pairs is non-null, according to {@link #type()}.
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
    /** The code-table cache (CodecOptions.reuseCodeTables): symbols by rank, then their code lengths; null if empty. */
    private int[] cachedCodeTable;

    private ChunkState(ValueType type, float[] approxFloat, float[] residualFloat, double[] approxDouble, double[] residualDouble) {
        this.type = type;
        this.approxFloat = approxFloat;
        this.residualFloat = residualFloat;
        this.approxDouble = approxDouble;
        this.residualDouble = residualDouble;
    }

    /** A chunk starting from {@code u_0}, stored losslessly: {@code ũ_0 = u_0}, {@code r_0 = 0}. The array is copied. */
    public static ChunkState float32(float[] initial) {
        return new ChunkState(ValueType.FLOAT32, initial.clone(), new float[initial.length], null, null);
    }

    public static ChunkState float64(double[] initial) {
        return new ChunkState(ValueType.FLOAT64, null, null, initial.clone(), new double[initial.length]);
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

    /**
     * A chunk starting from {@code u_0} given as little-endian values of {@code type} (FORMAT.md §1; a superstep's or a raw
     * initial state's bytes), with a zero residual. The bytes must be whole values.
     */
    public static ChunkState initial(ValueType type, ByteBuffer values) {
        return type == ValueType.FLOAT32 ? ofFloat32(floats(values), new float[values.remaining() / 4])
                : ofFloat64(doubles(values), new double[values.remaining() / 8]);
    }

    /** ũ and r as little-endian values of {@code type} (a state handed over between the encoder and a trainer). */
    public static ChunkState fromLittleEndian(ValueType type, ByteBuffer approx, ByteBuffer residual) {
        return type == ValueType.FLOAT32 ? ofFloat32(floats(approx), floats(residual)) : ofFloat64(doubles(approx), doubles(residual));
    }

    /**
     * Sets the residual to −0.0, the identity of +: the next step's {@code δ = delta + r} is then {@code delta} exactly.
     * For a delta that carries the residual folded in already (the trainer held it, DESIGN.md §6).
     */
    public void dropResidual() {
        if (type == ValueType.FLOAT32) {
            Arrays.fill(residualFloat, -0.0f);
        } else {
            Arrays.fill(residualDouble, -0.0);
        }
    }

    /** ũ as little-endian bytes: a superstep's values. */
    public ByteBuffer approxLittleEndian() {
        return type == ValueType.FLOAT32 ? littleEndian(approxFloat) : littleEndian(approxDouble);
    }

    /** r as little-endian bytes. */
    public ByteBuffer residualLittleEndian() {
        return type == ValueType.FLOAT32 ? littleEndian(residualFloat) : littleEndian(residualDouble);
    }

    /** The XXH64 of ũ (FORMAT.md §5): what a superstep, a handover and a coded record after this state carry. */
    public long approxChecksum() {
        return type == ValueType.FLOAT32 ? Checksums.xxh64(approxFloat) : Checksums.xxh64(approxDouble);
    }

    // float32 and float64 twins: Java's primitive arrays share no type, and a generic version would box every value

    private static float[] floats(ByteBuffer bytes) {
        float[] values = new float[bytes.remaining() / 4];
        bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
        return values;
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
        return type == ValueType.FLOAT32 ? approxFloat.length : approxDouble.length;
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
        ChunkState copy = type == ValueType.FLOAT32
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
                && Arrays.equals(cachedCodeTable, other.cachedCodeTable);
    }

    @Override
    public int hashCode() {
        return type.hashCode() * 31 + Arrays.hashCode(approxFloat) + Arrays.hashCode(approxDouble);
    }
}
