package io.lccheckpoint.encoder;

import java.util.Map;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.ProductionExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The encoder's production exception handler: every failed write stops the stream thread (and with it the encoder,
 * which exits non-zero), retriable errors included. Streams' default answers "retry" to a retriable error, which it turns
 * into a corrupted task; under exactly-once v2 that path can commit a task's outputs without its input offsets, or
 * offsets without outputs (issue #11: committed steps lost after a broker outage). A stopped thread aborts its open
 * transaction, so what was committed stays whole and a restart redoes the rest.
 */
public final class FailOnSendError implements ProductionExceptionHandler {
    private static final Logger LOG = LoggerFactory.getLogger(FailOnSendError.class);

    @Override
    public Response handleError(ErrorHandlerContext context, ProducerRecord<byte[], byte[]> record, Exception exception) {
        LOG.error("cannot write to topic {} (task {}, input {}-{}@{}): {}; the encoder stops, its open transaction is aborted",
                record.topic(), context.taskId(), context.topic(), context.partition(), context.offset(), exception.toString());
        return Response.fail();
    }

    @Override
    public void configure(Map<String, ?> configs) {
    }
}
