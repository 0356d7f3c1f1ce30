package dev.metering.sink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.metering.sink.store.RefusedData;
import java.sql.SQLException;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;
import org.junit.jupiter.api.Test;

class RefusedDataTest {
    private static RuntimeException failure(String sqlState) {
        return new UnableToExecuteStatementException(new SQLException("boom", sqlState), null);
    }

    @Test
    void dataThatNoRetryCanFixIsRefusedData() {
        for (String state : new String[] {"22021", "22003", "22008", "22P05", "23502", "23514", "54000", "42804", "42P18", "21000"}) {
            assertThat(RefusedData.isRefusedData(failure(state))).as(state).isTrue();
        }
    }

    @Test
    void outagesAreRetriedNotSkipped() {
        for (String state : new String[] {"08006", "08001", "57P01", "57P03", "53100", "53300", "40001", "40P01", "25P02", "XX000", "42P01"}) {
            assertThat(RefusedData.isRefusedData(failure(state))).as(state).isFalse();
        }
        assertThat(RefusedData.isRefusedData(new UnableToExecuteStatementException(new SQLException("no state"), null))).isFalse();
        assertThat(RefusedData.isRefusedData(new IllegalStateException("no SQL at all"))).isFalse();
    }
}
