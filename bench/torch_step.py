"""Worker: the same model in PyTorch (CPU), when torch is importable.

nn.Linear(28, 128) -> nn.LSTM(128, 128, batch_first=True) -> last output ->
nn.Linear(128, 10); CrossEntropyLoss on logits; Adam(lr, eps=1e-8). Timed: one
zero_grad/forward/backward/step plus loss.item(). Default threading (torch's own).
Exits with status 3 and a note on stderr when torch is not installed: the project
does not need torch, the benchmark then skips this side.
"""
import sys

import _protocol


def main():
    p = _protocol.worker_parser()
    args = p.parse_args()
    try:
        import torch
        from torch import nn
    except ImportError as e:
        print(f'torch is not importable ({e})', file=sys.stderr)
        sys.exit(3)
    xs, ys = _protocol.load_batches(args.batches)
    n, batch_size, n_steps, n_inputs = xs.shape
    h = args.hidden_units
    torch.manual_seed(args.seed)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = nn.Linear(n_inputs, h)
            self.lstm = nn.LSTM(h, h, batch_first=True)
            self.out = nn.Linear(h, ys.shape[-1])

        def forward(self, x):
            outputs, _ = self.lstm(self.inp(x))
            return self.out(outputs[:, -1, :])

    model = Net()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, eps=1e-8)
    loss_fn = nn.CrossEntropyLoss()
    xs_t = [torch.from_numpy(x.copy()) for x in xs]
    ys_t = [torch.from_numpy(y.argmax(-1)).long() for y in ys]

    def step(i):
        k = i % n
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xs_t[k]), ys_t[k])
        loss.backward()
        opt.step()
        return loss.item()

    a = torch.randn(2048, 2048)
    b = torch.randn(2048, 2048)

    def rate(count):
        return _protocol.matmul_gflops(lambda: torch.mm(a, b), count)

    info = {'side': 'torch', 'torch': torch.__version__, 'threads': torch.get_num_threads(),
            'what': 'nn.Module, zero_grad/forward/backward/Adam.step + loss.item()'}
    _protocol.serve(step, info, rate)


if __name__ == '__main__':
    main()
