package io.lccheckpoint.encoder;

import static org.assertj.core.api.Assertions.assertThat;

import io.lccheckpoint.codec.ChunkState;
import io.lccheckpoint.codec.ValueType;
import io.lccheckpoint.schema.DType;
import org.junit.jupiter.api.Test;

/** An exact chunk's state (integers, bool) is stored as its values alone: no residual, 8 bytes per value. */
class ChunkRecordStateTest {

    private static ChunkRecordState exact(long... values) {
        ChunkRecordState state = new ChunkRecordState();
        state.generation = 3;
        state.lastStep = 9;
        state.dtype = DType.INT16;
        state.size = values.length;
        state.chunk = ChunkState.exact(ValueType.INT16, values);
        state.supersteps.add(new ChunkRecordState.Superstep(0, 5));
        state.anchorResidual = ChunkRecordState.Residual.STORED;
        return state;
    }

    @Test
    void anExactChunksWorkFormKeepsItsValuesAndItsBookNoResidual() {
        ChunkRecordState state = exact(-3, 7, 32767);
        byte[] work = state.serialize(ChunkRecordState.Form.WORK);
        ChunkRecordState read = ChunkRecordState.deserialize(work);
        assertThat(read.chunk).isEqualTo(state.chunk);
        assertThat(read.chunk.approxLong()).containsExactly(-3, 7, 32767);

        byte[] book = state.serialize(ChunkRecordState.Form.BOOK);
        assertThat(work.length - book.length).as("the work form adds ũ only: 8 bytes per value").isEqualTo(8 * 3);
        ChunkRecordState fromBook = ChunkRecordState.deserialize(book);
        assertThat(fromBook.chunk.type()).isEqualTo(ValueType.INT16);
        assertThat(fromBook.chunk.approxLong()).as("a book holds no ũ: the anchor's superstep gives it").containsExactly(0, 0, 0);
    }
}
