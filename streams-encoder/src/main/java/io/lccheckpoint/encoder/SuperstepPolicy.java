package io.lccheckpoint.encoder;

/**
 * When a chunk takes a superstep (DESIGN.md §4), and when its book is written between supersteps (DESIGN.md §8).
 *
 * <p>By bytes (the default): a chunk takes a superstep once its coded records since its last one reach {@code ratio}
 * times a superstep's size. Supersteps are then at most 1 / (1 + ratio) of the checkpoint topic's bytes however well the
 * deltas compress, and a restore reads at most 1 + ratio full states per chunk (a superstep and the records after it).
 * Chunks take them at steps of their own; each progress notice says where its chunk's newest superstep starts and which
 * is its oldest, so the completion processor can tell a restore where to seek and which steps stay restorable. As such
 * intervals can be long (hundreds of steps for a well-compressing model), the encoder writes a chunk's book with ũ and r
 * every {@code interval} steps while it holds the residual, so a rebuild replays, and the raw-delta topic keeps, at most
 * that many steps of raw deltas. With the trainer holding the residual, a rebuild replays coded records, which are small.
 *
 * <p>By steps: a superstep whenever the step crosses a multiple of {@code interval}, every chunk at the same steps.
 */
record SuperstepPolicy(boolean byBytes, double ratio, int interval, int retain) {
    static SuperstepPolicy of(EncoderSettings settings) {
        return new SuperstepPolicy(settings.getString(EncoderSettings.SUPERSTEP_POLICY_CONFIG).equals("bytes"),
                settings.getDouble(EncoderSettings.SUPERSTEP_BYTES_RATIO_CONFIG), settings.getInt(EncoderSettings.SUPERSTEP_INTERVAL_CONFIG),
                settings.getInt(EncoderSettings.SUPERSTEP_RETAIN_CONFIG));
    }

    /** Whether the chunk takes a superstep at this step (its coded bytes since the last one already counted). */
    boolean superstepAt(ChunkRecordState state, long step, int valueBytes) {
        return byBytes
                ? state.codedSinceSuperstep >= ratio * valueBytes * state.size()
                : Math.floorDiv(step, interval) > Math.floorDiv(state.lastSuperstep, interval);
    }

    /** Whether the chunk's book, with ũ and r, is due at this step without a superstep (by bytes, while the encoder holds r). */
    boolean bookAt(ChunkRecordState state, long step) {
        return byBytes && !state.residualOnTrainer && Math.floorDiv(step, interval) > Math.floorDiv(state.anchorStep, interval);
    }
}
